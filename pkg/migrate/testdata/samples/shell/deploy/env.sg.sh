#!/bin/sh
export DB_HOST=10.1.0.12
export DB_PORT=3306
export REDIS_CACHE_HOST=redis-sg
export JAVA_OPTS="-Xmx1g -Dregion=sg"
exec java $JAVA_OPTS -jar app.jar
