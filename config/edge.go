package config

import (
	"net/netip"
	"net/url"
	"time"
)

// EdgeSettings are a connector's settings at the network edge: TLS, who may
// connect, who may submit, how many connections, and duplicate
// suppression. They are read from the connector's dotted keys by Settings.
type EdgeSettings struct {
	// TLS is on when tls.cert.file is set.
	TLS TLSListen
	// SourceAllow: source.allow, IPs and CIDRs (comma separated) allowed to
	// connect; empty allows every address.
	SourceAllow []string
	// MaxConnsPerSource: max.connections.per.source (0 = unlimited; Derived
	// when not set), open connections from one IP address.
	MaxConnsPerSource int
	// Auth is on (REST and gRPC doors) when an API key file or a JWKS is
	// configured.
	Auth Auth
	// Dedup: hl7.dedup.enabled (false), hl7.dedup.window (10m),
	// hl7.dedup.max.entries (100000).
	Dedup       bool
	DedupWindow time.Duration
	DedupMax    int
	// DedupScope: hl7.dedup.scope, DedupScopeProcess (default: the memory
	// is this process's) or DedupScopeCluster (the memory is also kept in
	// kafka.topics.dedup_topic, which every instance reads).
	DedupScope string
	// HTTP server timeouts (fhir-rest): http.read.timeout (60s) bounds
	// reading a whole request, headers and body, so a slow sender is cut
	// off; http.idle.timeout (2m) closes an idle keep-alive connection.
	HTTPReadTimeout, HTTPIdleTimeout time.Duration
	// MaxStreams: grpc.max.concurrent.streams (100), streaming calls
	// (StreamHL7) open at once on the listener; past it RESOURCE_EXHAUSTED.
	MaxStreams int
	// GRPC connection and stream lifetimes (grpc): grpc.stream.idle.timeout
	// (5m) ends a StreamHL7 that sends nothing for that long;
	// grpc.max.connection.idle (5m) closes a connection without calls;
	// grpc.max.connection.age (30m) asks a connection to go away, and
	// grpc.max.connection.age.grace (5m) later closes it with whatever
	// calls are still open.
	StreamIdleTimeout, MaxConnIdle, MaxConnAge, MaxConnAgeGrace time.Duration
}

// Derived is the value of a connection limit that is not configured: the
// gateway derives it from the process's open-file limit at start (see
// edge/limits.NewBudget). Configured limits are 0 (unlimited) or more.
const Derived = -1

// TLSListen is server-side TLS of a door.
type TLSListen struct {
	CertFile, KeyFile string // tls.cert.file, tls.key.file
	ClientCAFile      string // tls.client.ca.file
	// ClientAuth: tls.client.auth, none | request | require (default
	// require when tls.client.ca.file is set, else none).
	ClientAuth string
	// AllowedSubjects: tls.client.allowed.subjects, a YAML list (or
	// entries each ended by ';'); each entry is a whole RFC 4514 subject
	// ("CN=lab,O=Hospital"), CN=, DNS: or email: and a name, or a bare
	// name, matched as tlsconf.ParseSubject says (readAllowedSubjects).
	AllowedSubjects []string
	MinVersion      string        // tls.min.version: 1.2 (default) | 1.3
	ReloadInterval  time.Duration // tls.reload.interval (10s): certificate files are checked this often
}

// Enabled reports whether the door serves TLS.
func (t TLSListen) Enabled() bool { return t.CertFile != "" }

// Auth is bearer-token authentication of a door.
type Auth struct {
	// APIKeysFile: auth.api.keys.file, lines of "<name> sha256:<hex>
	// <scope>[,<scope>...]"; '#' starts a comment. Keys are stored as
	// SHA-256 hashes (`gateway hash-key` prints one).
	APIKeysFile string
	// APIKeysReloadInterval: auth.api.keys.reload.interval (30s), how often
	// the API key file is checked; it is re-read when its content changed.
	APIKeysReloadInterval time.Duration
	// JWT: auth.jwt.jwks.file or auth.jwt.jwks.url (one of them),
	// auth.jwt.issuer and auth.jwt.audience (both required with a JWKS),
	// auth.jwt.leeway (60s) for clock skew.
	JWKSFile, JWKSURL, Issuer, Audience string
	Leeway                              time.Duration
}

// Enabled reports whether the door demands a bearer token.
func (a Auth) Enabled() bool { return a.APIKeysFile != "" || a.JWKSFile != "" || a.JWKSURL != "" }

// edgeKeys are accepted by every connector type.
var edgeKeys = []string{
	"tls.cert.file", "tls.key.file", "tls.client.ca.file", "tls.client.auth", "tls.client.allowed.subjects",
	"tls.min.version", "tls.reload.interval",
	"source.allow", "max.connections.per.source",
	"hl7.dedup.enabled", "hl7.dedup.window", "hl7.dedup.max.entries", "hl7.dedup.scope",
}

// hl7.dedup.scope values.
const (
	DedupScopeProcess = "process"
	DedupScopeCluster = "cluster"
)

// authKeys are accepted by fhir-rest and grpc.
var authKeys = []string{
	"auth.api.keys.file", "auth.api.keys.reload.interval", "auth.jwt.jwks.file", "auth.jwt.jwks.url", "auth.jwt.issuer", "auth.jwt.audience", "auth.jwt.leeway",
}

func (s *ConnectorSettings) readEdge(r *keyReader, typ string) {
	e := &s.Edge
	e.TLS = readTLSListen(r)
	e.SourceAllow = splitList(r.str("source.allow", ""), ",")
	for _, a := range e.SourceAllow {
		if _, err := netip.ParsePrefix(a); err != nil {
			if _, err := netip.ParseAddr(a); err != nil {
				r.fail("source.allow", "%q is neither an IP address nor a CIDR prefix", a)
			}
		}
	}
	e.MaxConnsPerSource = r.integer("max.connections.per.source", Derived, 0)
	e.Dedup = r.boolean("hl7.dedup.enabled", false)
	e.DedupWindow = r.duration("hl7.dedup.window", 10*time.Minute)
	e.DedupMax = r.integer("hl7.dedup.max.entries", 100000, 1)
	switch e.DedupScope = r.str("hl7.dedup.scope", DedupScopeProcess); e.DedupScope {
	case DedupScopeProcess, DedupScopeCluster:
	default:
		r.fail("hl7.dedup.scope", "must be %s or %s, got %q", DedupScopeProcess, DedupScopeCluster, e.DedupScope)
	}
	if typ != TypeHL7MLLP {
		e.Auth = readAuth(r)
	}
	switch typ {
	case TypeFHIRREST:
		e.HTTPReadTimeout = r.duration("http.read.timeout", 60*time.Second)
		e.HTTPIdleTimeout = r.duration("http.idle.timeout", 2*time.Minute)
		s.MaxConnections = r.integer("max.connections", Derived, 0)
	case TypeGRPC:
		e.MaxStreams = r.integer("grpc.max.concurrent.streams", 100, 1)
		s.MaxConnections = r.integer("max.connections", Derived, 0)
		e.StreamIdleTimeout = r.duration("grpc.stream.idle.timeout", 5*time.Minute)
		e.MaxConnIdle = r.duration("grpc.max.connection.idle", 5*time.Minute)
		e.MaxConnAge = r.duration("grpc.max.connection.age", 30*time.Minute)
		e.MaxConnAgeGrace = r.duration("grpc.max.connection.age.grace", 5*time.Minute)
	}
}

func readTLSListen(r *keyReader) TLSListen {
	t := TLSListen{
		CertFile:     r.str("tls.cert.file", ""),
		KeyFile:      r.str("tls.key.file", ""),
		ClientCAFile: r.str("tls.client.ca.file", ""),
		MinVersion:   r.str("tls.min.version", "1.2"),
	}
	t.ReloadInterval = r.duration("tls.reload.interval", 10*time.Second)
	t.AllowedSubjects = readAllowedSubjects(r)
	def := "none"
	if t.ClientCAFile != "" {
		def = "require"
	}
	t.ClientAuth = r.str("tls.client.auth", def)
	switch {
	case (t.CertFile == "") != (t.KeyFile == ""):
		r.fail("tls.cert.file", "tls.cert.file and tls.key.file go together")
	case t.CertFile == "" && (t.ClientCAFile != "" || len(t.AllowedSubjects) > 0):
		r.fail("tls.client.ca.file", "client certificates need TLS: set tls.cert.file and tls.key.file")
	}
	r.file("tls.cert.file", t.CertFile)
	r.file("tls.key.file", t.KeyFile)
	r.file("tls.client.ca.file", t.ClientCAFile)
	switch t.ClientAuth {
	case "none", "request", "require":
	default:
		r.fail("tls.client.auth", "must be none, request or require, got %q", t.ClientAuth)
	}
	if t.ClientAuth != "none" && t.ClientCAFile == "" {
		r.fail("tls.client.auth", "%s needs tls.client.ca.file", t.ClientAuth)
	}
	if len(t.AllowedSubjects) > 0 && t.ClientAuth != "require" {
		r.fail("tls.client.allowed.subjects", "needs tls.client.auth=require")
	}
	if t.MinVersion != "1.2" && t.MinVersion != "1.3" {
		r.fail("tls.min.version", "must be 1.2 or 1.3, got %q", t.MinVersion)
	}
	return t
}

func readAuth(r *keyReader) Auth {
	a := Auth{
		APIKeysFile: r.str("auth.api.keys.file", ""),
		JWKSFile:    r.str("auth.jwt.jwks.file", ""),
		JWKSURL:     r.str("auth.jwt.jwks.url", ""),
		Issuer:      r.str("auth.jwt.issuer", ""),
		Audience:    r.str("auth.jwt.audience", ""),
	}
	a.APIKeysReloadInterval = r.duration("auth.api.keys.reload.interval", 30*time.Second)
	a.Leeway = r.duration("auth.jwt.leeway", 60*time.Second)
	r.file("auth.api.keys.file", a.APIKeysFile)
	r.file("auth.jwt.jwks.file", a.JWKSFile)
	if a.JWKSFile != "" && a.JWKSURL != "" {
		r.fail("auth.jwt.jwks.url", "set auth.jwt.jwks.file or auth.jwt.jwks.url, not both")
	}
	if a.JWKSURL != "" {
		if u, err := url.Parse(a.JWKSURL); err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" {
			r.fail("auth.jwt.jwks.url", "must be an http(s) URL, got %q", a.JWKSURL)
		}
	}
	jwt := a.JWKSFile != "" || a.JWKSURL != ""
	if jwt && (a.Issuer == "" || a.Audience == "") {
		r.fail("auth.jwt.issuer", "JWTs need both auth.jwt.issuer and auth.jwt.audience")
	}
	if !jwt && (a.Issuer != "" || a.Audience != "") {
		r.fail("auth.jwt.issuer", "auth.jwt.issuer and auth.jwt.audience need auth.jwt.jwks.file or auth.jwt.jwks.url")
	}
	return a
}
