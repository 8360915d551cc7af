package embedded

import (
	"context"
	"errors"
	"io"
	"net"
	"os"
	"syscall"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"
)

// produceOnNewClient writes one record through a client of its own, so
// through a connection the broker has to accept now.
func produceOnNewClient(t *testing.T, b *Broker) {
	t.Helper()
	cl, err := kgo.NewClient(kgo.SeedBrokers(b.Addrs()...), kgo.AllowAutoTopicCreation())
	if err != nil {
		t.Fatal(err)
	}
	defer cl.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 15*time.Second)
	defer cancel()
	if err := cl.ProduceSync(ctx, &kgo.Record{Topic: "probe", Value: []byte("x")}).FirstErr(); err != nil {
		t.Fatalf("produce on a new connection: %v", err)
	}
}

// TestBrokerKeepsAcceptingAfterRunningOutOfFileDescriptors makes the
// broker's accept fail with EMFILE for real: the test lowers its own soft
// open-file limit, fills the table, and dials the broker with the last
// free descriptor. kfake alone stops accepting for good at that point.
func TestBrokerKeepsAcceptingAfterRunningOutOfFileDescriptors(t *testing.T) {
	b := start(t)
	var orig syscall.Rlimit
	if err := syscall.Getrlimit(syscall.RLIMIT_NOFILE, &orig); err != nil {
		t.Fatal(err)
	}
	var fillers []*os.File
	var dialed []net.Conn
	release := func() {
		for _, f := range fillers {
			f.Close()
		}
		for _, c := range dialed {
			c.Close()
		}
		fillers, dialed = nil, nil
		_ = syscall.Setrlimit(syscall.RLIMIT_NOFILE, &orig)
	}
	t.Cleanup(release)
	fds, err := os.ReadDir("/proc/self/fd")
	if err != nil {
		t.Skipf("cannot count open files: %v", err)
	}
	low := orig
	low.Cur = uint64(len(fds) + 32)
	if err := syscall.Setrlimit(syscall.RLIMIT_NOFILE, &low); err != nil {
		t.Fatal(err)
	}
	for {
		f, err := os.Open(os.DevNull)
		if errors.Is(err, syscall.EMFILE) {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		fillers = append(fillers, f)
	}
	deadline := time.Now().Add(10 * time.Second)
	for b.AcceptRetries() == 0 && time.Now().Before(deadline) {
		// Free one descriptor for the dial; the broker's accept then has none.
		if len(fillers) > 0 {
			fillers[len(fillers)-1].Close()
			fillers = fillers[:len(fillers)-1]
		}
		if c, err := net.DialTimeout("tcp", b.Addrs()[0], time.Second); err == nil {
			dialed = append(dialed, c)
		}
		time.Sleep(20 * time.Millisecond)
	}
	if b.AcceptRetries() == 0 {
		t.Fatal("the broker's accept never ran out of file descriptors")
	}
	release()
	produceOnNewClient(t, b)
	if err := b.Check(context.Background()); err != nil {
		t.Fatalf("Check after the shortage: %v", err)
	}
}

func TestBrokerClosesConnectionsPastMaxConns(t *testing.T) {
	b, err := Start(context.Background(), "127.0.0.1:0", nil, MaxConns(2))
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	var held []net.Conn
	defer func() {
		for _, c := range held {
			c.Close()
		}
	}()
	for range 2 {
		c, err := net.Dial("tcp", b.Addrs()[0])
		if err != nil {
			t.Fatal(err)
		}
		held = append(held, c)
	}
	third, err := net.Dial("tcp", b.Addrs()[0])
	if err != nil {
		t.Fatal(err)
	}
	defer third.Close()
	_ = third.SetReadDeadline(time.Now().Add(5 * time.Second))
	if _, err := third.Read(make([]byte, 1)); !errors.Is(err, io.EOF) && !errors.Is(err, syscall.ECONNRESET) {
		t.Fatalf("third connection: read %v, want it closed by the broker", err)
	}
	held[0].Close()
	held = held[1:]
	// The freed slot is given back once the broker notices the close.
	deadline := time.Now().Add(5 * time.Second)
	for b.ln.open.Load() > 1 && time.Now().Before(deadline) {
		time.Sleep(10 * time.Millisecond)
	}
	if err := b.Check(context.Background()); err != nil {
		t.Fatalf("a connection within the limit after one closed: %v", err)
	}
}
