package main

import (
	"context"
	"fmt"
	"log/slog"

	"github.com/redis/go-redis/v9"
)

// redisLogger routes go-redis's own messages (dial failures, pool events) into slog, so every line
// the process writes has one format.
type redisLogger struct{ log *slog.Logger }

func (l redisLogger) Printf(ctx context.Context, format string, v ...any) {
	l.log.WarnContext(ctx, "redis client", "msg_detail", fmt.Sprintf(format, v...))
}

func routeRedisLogs(log *slog.Logger) { redis.SetLogger(redisLogger{log: log}) }
