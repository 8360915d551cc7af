// Package tlsconf is server-side TLS for the gateway's doors (MLLP over TLS,
// HTTPS, gRPC over TLS): certificates loaded from PEM files and reloaded when
// they change, optional client certificates verified against a CA file, and
// an allow-list of client certificate subjects.
//
// Every listener gets a Reloader:
//
//	r, err := tlsconf.New("mllp", opts, metrics, log) // loads the files; error if bad
//	go r.Run(ctx)                                     // reloads changed files every ReloadInterval
//
//	mllp.ServerConfig{TLSConfig: r.TLSConfig()}     // MLLP: the server runs the handshake
//	httpServer.Serve(r.WrapListener(ln))            // HTTPS: handshake before Accept, failures counted
//	grpc.NewServer(grpc.Creds(r.GRPCCredentials())) // gRPC: failures counted in ServerHandshake
//
// Security floor: TLS 1.2 at least (Options.MinVersion may raise it to 1.3),
// and with TLS 1.2 only ECDHE key exchange with AEAD ciphers (AES-GCM,
// ChaCha20-Poly1305).
//
// Client certificates: with ClientAuth "request" or "require" they must
// chain to ClientCAFile and carry the clientAuth extended key usage (or
// none); expired ones are refused. AllowedSubjects then narrows who may
// connect (see SubjectError). Resumed sessions are checked again against the
// current CA pool and allow-list.
//
// Failures: a refused handshake ends the connection with a TLS alert
// (bad_certificate, unknown_ca, certificate_expired, certificate_required,
// protocol_version, handshake_failure, ...). With TLS 1.3 a client learns of
// a refused client certificate on its first read, since its side of the
// handshake has already completed. Failures are counted by reason (see
// Classify) and logged with the remote address and the error, never with key
// material. A reload that fails (a missing, half-written or mismatched file)
// keeps the previous certificate, is logged as a warning and counted.
package tlsconf
