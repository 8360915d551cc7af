package limits

import (
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/keepalive"
)

// Keepalive enforcement of the gRPC doors, not configurable: clients may
// ping every KeepaliveMinTime at most, with or without calls open (more
// often: the connection is closed with GOAWAY "too_many_pings"); the
// server pings a connection silent for keepaliveTime and closes it when
// the answer takes longer than keepaliveTimeout (a peer that vanished
// without closing).
const (
	KeepaliveMinTime = 10 * time.Second
	keepaliveTime    = 2 * time.Minute
	keepaliveTimeout = 20 * time.Second
)

// ConnLifetime bounds a gRPC connection: MaxIdle closes one without calls
// for that long, MaxAge asks one to go away after that long (spread by
// gRPC by ±10%) and MaxAgeGrace then closes it with whatever calls are
// still open. Zero values are gRPC's "never".
type ConnLifetime struct {
	MaxIdle, MaxAge, MaxAgeGrace time.Duration
}

// GRPCKeepalive returns the server options that enforce the keepalive
// policy above and l, so that neither silent connections nor a stream
// that stopped reading its answers hold a slot for ever.
func GRPCKeepalive(l ConnLifetime) []grpc.ServerOption {
	return []grpc.ServerOption{
		grpc.KeepaliveEnforcementPolicy(keepalive.EnforcementPolicy{MinTime: KeepaliveMinTime, PermitWithoutStream: true}),
		grpc.KeepaliveParams(keepalive.ServerParameters{
			MaxConnectionIdle:     l.MaxIdle,
			MaxConnectionAge:      l.MaxAge,
			MaxConnectionAgeGrace: l.MaxAgeGrace,
			Time:                  keepaliveTime,
			Timeout:               keepaliveTimeout,
		}),
	}
}
