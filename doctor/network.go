package doctor

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"net"
	"os"
	"strings"
	"syscall"
	"time"

	"github.com/hl7gw/gateway/config"
	"github.com/hl7gw/gateway/publish"
)

// defaultKafkaPort is used for a seed given without a port.
const defaultKafkaPort = "9092"

// network runs the DNS, TCP and TLS steps for every seed broker and returns
// the seeds that passed them all.
func (r *run) network(ctx context.Context) []string {
	var ok []string
	tlsOn := r.k.TLS.Enabled || r.k.Preset == config.PresetConfluentCloud
	for _, seed := range r.k.Brokers {
		host, port, err := net.SplitHostPort(seed)
		if err != nil {
			host, port = seed, defaultKafkaPort
		}
		addr := net.JoinHostPort(host, port)
		if !r.dns(ctx, host) {
			r.skip("tcp "+addr, "name not resolved")
			if tlsOn {
				r.skip("tls "+addr, "name not resolved")
			}
			continue
		}
		conn := r.tcp(ctx, addr)
		if conn == nil {
			if tlsOn {
				r.skip("tls "+addr, "no TCP connection")
			}
			continue
		}
		if !tlsOn {
			conn.Close()
			ok = append(ok, addr)
			continue
		}
		if r.tls(ctx, conn, host, addr) {
			ok = append(ok, addr)
		}
	}
	return ok
}

func (r *run) dns(ctx context.Context, host string) bool {
	name := "dns " + host
	if ip := net.ParseIP(host); ip != nil {
		r.add(Step{Name: name, Verdict: OK, Detail: "IP address, no lookup needed"})
		return true
	}
	ctx, cancel := context.WithTimeout(ctx, r.opts.StepTimeout)
	defer cancel()
	addrs, err := net.DefaultResolver.LookupHost(ctx, host)
	if err != nil {
		hint := "check the broker host name in kafka.brokers and this machine's DNS (/etc/resolv.conf, /etc/hosts)"
		var de *net.DNSError
		if errors.As(err, &de) && de.IsTimeout {
			hint = "the DNS server did not answer in time: check /etc/resolv.conf and the network path to it"
		}
		r.add(Step{Name: name, Verdict: Fail, Detail: "cannot resolve: " + err.Error(), Hint: hint})
		return false
	}
	r.add(Step{Name: name, Verdict: OK, Detail: "resolves to " + strings.Join(addrs, ", ")})
	return true
}

// tcp connects to addr; the caller owns the returned connection (nil on
// failure, which is recorded as a step).
func (r *run) tcp(ctx context.Context, addr string) net.Conn {
	name := "tcp " + addr
	d := net.Dialer{Timeout: r.opts.StepTimeout}
	start := time.Now()
	conn, err := d.DialContext(ctx, "tcp", addr)
	if err != nil {
		hint := "check that the broker runs and listens on this address, and that no firewall or security group blocks the port"
		switch {
		case errors.Is(err, syscall.ECONNREFUSED):
			hint = "nothing listens on this port: the broker is down, or the port is wrong (compare with the broker's listeners)"
		case errors.Is(err, os.ErrDeadlineExceeded) || isTimeout(err):
			hint = "no answer: a firewall, security group or routing drops the packets, or the host is down"
		}
		r.add(Step{Name: name, Verdict: Fail, Detail: "cannot connect: " + err.Error(), Hint: hint})
		return nil
	}
	r.add(Step{Name: name, Verdict: OK, Detail: fmt.Sprintf("connected in %s", time.Since(start).Round(time.Millisecond))})
	return conn
}

func isTimeout(err error) bool {
	var ne net.Error
	return errors.As(err, &ne) && ne.Timeout()
}

// tls runs the handshake on conn (closing it) and checks the broker
// certificate: version, expiry, chain.
func (r *run) tls(ctx context.Context, conn net.Conn, host, addr string) bool {
	name := "tls " + addr
	defer conn.Close()
	cfg, err := clientTLS(r.k.TLS, host)
	if err != nil {
		r.add(Step{Name: name, Verdict: Fail, Detail: err.Error(), Hint: "fix kafka.tls.ca_file / cert_file / key_file"})
		return false
	}
	ctx, cancel := context.WithTimeout(ctx, r.opts.StepTimeout)
	defer cancel()
	tc := tls.Client(conn, cfg)
	if err := tc.HandshakeContext(ctx); err != nil {
		r.add(Step{Name: name, Verdict: Fail, Detail: "handshake failed: " + err.Error(), Hint: tlsHint(err)})
		return false
	}
	st := tc.ConnectionState()
	if len(st.PeerCertificates) == 0 {
		r.add(Step{Name: name, Verdict: Fail, Detail: "broker sent no certificate", Hint: "configure ssl.keystore on the broker listener"})
		return false
	}
	leaf := st.PeerCertificates[0]
	detail := fmt.Sprintf("%s, certificate %q issued by %q, expires %s, chain of %d",
		tls.VersionName(st.Version), leaf.Subject.CommonName, leaf.Issuer.CommonName,
		leaf.NotAfter.UTC().Format(time.DateOnly), len(st.PeerCertificates))
	left := leaf.NotAfter.Sub(r.opts.Now())
	switch {
	case left <= 0:
		r.add(Step{Name: name, Verdict: Fail, Detail: detail + ": expired", Hint: "renew the broker certificate"})
		return false
	case left < r.opts.CertExpiryWarn:
		r.add(Step{Name: name, Verdict: Warn, Detail: fmt.Sprintf("%s: expires in %d days", detail, int(left.Hours()/24)),
			Hint: "renew the broker certificate before it expires"})
	case r.k.TLS.InsecureSkipVerify:
		r.add(Step{Name: name, Verdict: Warn, Detail: detail + ": certificate NOT verified (insecure_skip_verify)",
			Hint: "set kafka.tls.ca_file to the brokers' CA and turn insecure_skip_verify off"})
	default:
		r.add(Step{Name: name, Verdict: OK, Detail: detail})
	}
	return true
}

// clientTLS is publish's TLS configuration, with the server name set for
// a handshake outside franz-go.
func clientTLS(t config.TLS, host string) (*tls.Config, error) {
	cfg, err := publish.TLSConfig(t)
	if err != nil {
		return nil, err
	}
	if cfg.ServerName == "" {
		cfg.ServerName = host
	}
	return cfg, nil
}

func tlsHint(err error) string {
	var ua x509.UnknownAuthorityError
	var hn x509.HostnameError
	var ci x509.CertificateInvalidError
	var rh tls.RecordHeaderError
	switch {
	case errors.As(err, &ua):
		return "the broker certificate is signed by a CA this machine does not trust: set kafka.tls.ca_file to that CA"
	case errors.As(err, &hn):
		return "the certificate does not name this host: use the name in the certificate, or set kafka.tls.server_name"
	case errors.As(err, &ci):
		return "the certificate is expired or not valid yet: renew it, check both clocks"
	case errors.As(err, &rh):
		return "the port does not speak TLS: it is a PLAINTEXT/SASL_PLAINTEXT listener; turn kafka.tls off or use the SSL listener's port"
	case isTimeout(err):
		return "no TLS answer: the port may expect plaintext, or a proxy holds the connection"
	}
	return "compare the broker's ssl.* settings with kafka.tls (CA, client certificate when ssl.client.auth=required, TLS version)"
}
