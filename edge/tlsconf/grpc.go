package tlsconf

import (
	"net"

	"google.golang.org/grpc/credentials"
)

// GRPCCredentials returns gRPC server transport credentials built on
// TLSConfig (so renewed files reach new connections) that count and log
// each failed server handshake like WrapListener does. Serve the gRPC server
// on a plain listener: grpc.NewServer(grpc.Creds(r.GRPCCredentials())).
// gRPC bounds the handshake with its connection timeout (120s by default,
// grpc.ConnectionTimeout).
func (r *Reloader) GRPCCredentials() credentials.TransportCredentials {
	return grpcCreds{TransportCredentials: credentials.NewTLS(r.TLSConfig()), r: r}
}

type grpcCreds struct {
	credentials.TransportCredentials
	r *Reloader
}

// ServerHandshake runs the TLS handshake and records its failure.
func (c grpcCreds) ServerHandshake(raw net.Conn) (net.Conn, credentials.AuthInfo, error) {
	conn, info, err := c.TransportCredentials.ServerHandshake(raw)
	if err != nil {
		c.r.handshakeFailed(raw.RemoteAddr(), err)
	}
	return conn, info, err
}

// Clone returns credentials that record failures for the same Reloader.
func (c grpcCreds) Clone() credentials.TransportCredentials {
	return grpcCreds{TransportCredentials: c.TransportCredentials.Clone(), r: c.r}
}
