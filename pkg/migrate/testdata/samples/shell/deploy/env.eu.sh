#!/bin/sh
export DB_HOST=10.3.0.12
export DB_PORT=3306
export REDIS_CACHE_HOST=redis-eu
export JAVA_OPTS="-Xmx1g -Dregion=eu"
exec java $JAVA_OPTS -jar app.jar
