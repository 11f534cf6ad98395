#!/bin/sh
export DB_HOST=10.2.0.12
export DB_PORT=3306
export REDIS_CACHE_HOST=redis-us
export EXTRA_US_FLAG=1
export JAVA_OPTS="-Xmx2g -Dregion=us"
exec java $JAVA_OPTS -jar app.jar
