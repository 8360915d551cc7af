package publish

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/hl7gw/gateway/config"
	"github.com/hl7gw/gateway/pipeline"
)

var _ pipeline.Publisher = (*Producer)(nil)

// Producer publishes records to Kafka. It holds one idempotent client for
// ordinary publishes and a pool of transactional clients for atomic ones,
// each running one transaction at a time so that concurrent atomic
// publishes never share a transaction. All methods are safe for concurrent
// use.
type Producer struct {
	cl      *kgo.Client
	txOpts  []kgo.Opt
	pool    chan *txSlot
	slots   []*txSlot
	m       *metrics
	log     *slog.Logger
	berr    *brokerErrors
	endWait time.Duration // bound for ending a transaction
	bound   time.Duration // longest a Publish call may take

	ending endings // transactions ending in the background

	mu     sync.Mutex // guards the slots' clients against Close
	closed bool
	once   sync.Once
}

// txSlot is one transactional id and the client currently using it.
type txSlot struct {
	id string
	cl *kgo.Client
}

// New builds a Producer for brokers from k (see Options; extra options are
// appended, for example kgo.AllowAutoTopicCreation() for the embedded
// broker). Metrics are registered with reg (nil: not registered). New does
// not contact the brokers, so it succeeds while they are down (Ping tells);
// it fails when ctx is already done, the options are invalid, or the
// metrics are already registered with reg. logger receives franz-go's
// warnings and transaction recoveries, never record keys or values.
func New(ctx context.Context, k config.Kafka, brokers []string, reg prometheus.Registerer, logger *slog.Logger, extra ...kgo.Opt) (*Producer, error) {
	if err := ctx.Err(); err != nil {
		return nil, fmt.Errorf("publish: new producer: %w", err)
	}
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	opts, err := Options(k, brokers, extra...)
	if err != nil {
		return nil, err
	}
	p := &Producer{
		log:     logger,
		endWait: k.Producer.DeliveryTimeout + k.Producer.RequestTimeout,
		bound:   k.Producer.DeliveryTimeout + k.Producer.RequestTimeout,
	}
	p.m, err = newMetrics(reg, p.buffered)
	if err != nil {
		return nil, fmt.Errorf("publish: register metrics: %w", err)
	}
	p.berr = newBrokerErrors(logger, func(code string) { p.m.brokerErrs.WithLabelValues(code).Inc() })
	opts = append(opts, kgo.WithHooks(hooks{p.m}), kgo.WithLogger(p.berr))
	p.cl, err = kgo.NewClient(opts...)
	if err != nil {
		return nil, fmt.Errorf("publish: new client: %w", err)
	}
	if k.Producer.Idempotent {
		p.txOpts = opts
		n := max(k.Producer.TransactionalProducers, 1)
		p.pool = make(chan *txSlot, n)
		for i := range n {
			s := &txSlot{id: k.Producer.TransactionalIDPrefix + "-" + strconv.Itoa(i)}
			if s.cl, err = p.newTxClient(s.id); err != nil {
				p.Close()
				return nil, err
			}
			p.slots = append(p.slots, s)
			p.pool <- s
		}
	}
	return p, nil
}

// InitTransactions registers every transactional id with its coordinator
// now instead of at its first Bundle. Registering bumps the id's epoch, so
// Kafka aborts at once a transaction that an earlier process with the same
// ids (the same instance id) left open when it died: until then that
// transaction holds back read_committed consumers of every partition it
// wrote, up to the transaction timeout. It returns the ids that could not
// be registered within ctx, joined; a slot that failed registers on first
// use as before.
func (p *Producer) InitTransactions(ctx context.Context) error {
	type idClient struct {
		id string
		cl *kgo.Client
	}
	p.mu.Lock()
	clients := make([]idClient, 0, len(p.slots))
	for _, s := range p.slots {
		clients = append(clients, idClient{s.id, s.cl})
	}
	p.mu.Unlock()
	errs := make([]error, len(clients))
	var wg sync.WaitGroup
	for i, c := range clients {
		wg.Go(func() {
			if _, _, err := c.cl.ProducerID(ctx); err != nil {
				errs[i] = fmt.Errorf("publish: register transactional id %s: %w", c.id, err)
			}
		})
	}
	wg.Wait()
	return errors.Join(errs...)
}

func (p *Producer) newTxClient(id string) (*kgo.Client, error) {
	cl, err := kgo.NewClient(append(p.txOpts[:len(p.txOpts):len(p.txOpts)], kgo.TransactionalID(id))...)
	if err != nil {
		return nil, fmt.Errorf("publish: new transactional client: %w", err)
	}
	return cl, nil
}

// Client is the idempotent client, for admin use (kadm.NewClient) by
// others. Do not close it; Close does.
func (p *Producer) Client() *kgo.Client { return p.cl }

// Publish writes recs and blocks until every record is acknowledged by all
// in-sync replicas, one failed, or ctx ends. On success it returns where
// each record landed, in the order of recs. On failure it returns a *Error
// (Reason says why) and, unless atomic, some records may have been written.
//
// With atomic (and more than one record) the records are written in one
// Kafka transaction on a pooled transactional client: read_committed
// consumers see all of them or none. Any failure aborts the transaction.
// It waits for a free transactional client, bounded by ctx. The end of a
// transaction (commit, abort, the client's replacement) continues in the
// background when the call's time is up, so that the call still answers in
// time: a failed transaction is answered before its abort has ended (it is
// never committed), and a commit still running is answered as a failure
// although it may yet commit, whole. The client returns to the pool when
// the end is done; Flush waits for it.
//
// Records are handed over with TryProduce, so a full producer buffer fails
// at once with reason "buffer_full" instead of blocking. A call never
// takes longer than the delivery timeout plus the request timeout, even
// when ctx has no deadline: the idempotent producer cannot time out a
// record whose request is in flight, so Publish stops waiting and answers
// "timeout" (or the last broker error seen for the partition, such as
// "not_enough_replicas"); such a record may still land later. Publish
// never logs keys or values. recs must not be modified until it returns.
func (p *Producer) Publish(ctx context.Context, recs []*kgo.Record, atomic bool) ([]pipeline.Delivery, error) {
	if len(recs) == 0 {
		return nil, nil
	}
	start := time.Now()
	if dl, ok := ctx.Deadline(); !ok || time.Until(dl) > p.bound {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, p.bound)
		defer cancel()
	}
	var (
		dels []pipeline.Delivery
		err  error
	)
	if atomic && len(recs) > 1 && p.pool != nil {
		dels, err = p.publishTx(ctx, recs)
	} else {
		dels, err = p.produce(ctx, p.cl, recs, start)
	}
	p.m.latency.Observe(time.Since(start).Seconds())
	if err != nil {
		var pe *Error
		if !errors.As(err, &pe) {
			pe = newError("", err)
			err = pe
		}
		p.m.publishErrs.WithLabelValues(string(pe.Why)).Inc()
		return nil, err
	}
	return dels, nil
}

// produce hands recs to cl and waits for every promise, or for ctx to end
// (then records may still be in flight; in a transaction the caller aborts,
// which fails or settles them). Errors name the first failed record's
// topic and carry the last broker error seen for its partition.
func (p *Producer) produce(ctx context.Context, cl *kgo.Client, recs []*kgo.Record, start time.Time) ([]pipeline.Delivery, error) {
	results := make([]error, len(recs))
	// The last promise closes done: no goroutine waits on the caller's
	// behalf, which would add a scheduling hop to every answer.
	var pending atomic.Int64
	pending.Store(int64(len(recs)))
	done := make(chan struct{})
	for i, r := range recs {
		cl.TryProduce(ctx, r, func(_ *kgo.Record, err error) {
			results[i] = err
			if pending.Add(-1) == 0 {
				close(done)
			}
		})
	}
	select {
	case <-done:
	case <-ctx.Done():
		return nil, newError(recs[0].Topic, p.berr.explain(ctx.Err(), recs[0], start))
	}
	var first *Error
	dels := make([]pipeline.Delivery, len(recs))
	for i, r := range recs {
		if err := results[i]; err != nil {
			if first == nil {
				first = newError(r.Topic, p.berr.explain(err, r, start))
			}
			continue
		}
		dels[i] = pipeline.Delivery{Topic: r.Topic, Partition: r.Partition, Offset: r.Offset}
	}
	if first != nil {
		return nil, first
	}
	return dels, nil
}

// publishTx runs recs as one transaction on a pooled client. It answers
// within ctx: the end of a transaction (commit, abort, or the client's
// replacement after either failed) runs on the slot in the background and
// the slot returns to the pool only when it is done, so a caller never
// waits for more than its own publish. Answering before an abort has ended
// is safe: a transaction that failed is never committed. A commit that
// outlives ctx is answered as a failure of unknown outcome (it may still
// commit, whole).
func (p *Producer) publishTx(ctx context.Context, recs []*kgo.Record) ([]pipeline.Delivery, error) {
	var s *txSlot
	select {
	case s = <-p.pool:
	case <-ctx.Done():
		return nil, newError("", fmt.Errorf("waiting for a transactional producer: %w", ctx.Err()))
	}
	p.mu.Lock()
	closed := p.closed
	p.mu.Unlock()
	if closed {
		p.pool <- s
		return nil, newError("", kgo.ErrClientClosed)
	}
	if err := p.begin(ctx, s); err != nil {
		return nil, newError("", fmt.Errorf("begin transaction: %w", err))
	}
	dels, err := p.produce(ctx, s.cl, recs, time.Now())
	if err == nil {
		err = p.oneEpoch(ctx, s, recs)
	}
	if err != nil {
		p.settle(s, func() { p.abort(s, err) })
		return nil, err
	}
	done := make(chan error, 1)
	p.settle(s, func() { done <- p.commit(s) })
	select {
	case err := <-done:
		if err != nil {
			return nil, newError("", fmt.Errorf("commit transaction: %w", err))
		}
		return dels, nil
	case <-ctx.Done():
		return nil, newError("", fmt.Errorf("commit transaction, outcome unknown: %w", ctx.Err()))
	}
}

// oneEpoch fails a transaction whose records Kafka took under more than
// one producer epoch, or under another than the client's now. A client
// that reloads its producer id in the middle of a transaction (franz-go
// does so to recover some produce errors) bumps the epoch, and the
// coordinator aborts what the transaction wrote before; the records sent
// after it start a new transaction, and committing that one would show
// read_committed consumers part of the records. Such a transaction is
// aborted instead, as a whole.
func (p *Producer) oneEpoch(ctx context.Context, s *txSlot, recs []*kgo.Record) error {
	id, epoch, err := s.cl.ProducerID(ctx)
	if err == nil {
		err = splitEpochs(recs, id, epoch)
	}
	if err != nil {
		p.log.Warn("kafka transaction not committed: its producer epoch changed", "transactional_id", s.id, "error", err)
		return newError(recs[0].Topic, err)
	}
	return nil
}

// splitEpochs returns ErrEpochChanged, with the epochs it saw, when a
// record of recs was written under another producer id or epoch than id
// and epoch.
func splitEpochs(recs []*kgo.Record, id int64, epoch int16) error {
	for _, r := range recs {
		if r.ProducerID != id || r.ProducerEpoch != epoch {
			return fmt.Errorf("%w: record of %s under producer %d epoch %d, client at producer %d epoch %d",
				ErrEpochChanged, r.Topic, r.ProducerID, r.ProducerEpoch, id, epoch)
		}
	}
	return nil
}

// begin begins a transaction on the slot's client within ctx. A client
// whose producer id must be (re)loaded, as after a replacement while the
// coordinator was away, loads it inside BeginTransaction with no bound of
// ours; when ctx ends first the slot settles in the background: the begun
// transaction, empty, is aborted, or a failed begin replaces the client.
// On error the slot is already being settled.
func (p *Producer) begin(ctx context.Context, s *txSlot) error {
	begun := make(chan error, 1)
	go func() { begun <- s.cl.BeginTransaction() }()
	select {
	case err := <-begun:
		if err != nil {
			p.settle(s, func() { p.recover(s, "begin", err) })
		}
		return err
	case <-ctx.Done():
		p.settle(s, func() {
			if err := <-begun; err != nil {
				p.recover(s, "begin", err)
				return
			}
			p.abort(s, ctx.Err())
		})
		return ctx.Err()
	}
}

// settle runs end, the end of the slot's transaction, in a goroutine and
// then returns the slot to the pool. Flush waits for it.
func (p *Producer) settle(s *txSlot, end func()) {
	p.ending.add()
	go func() {
		defer p.ending.done()
		end()
		p.pool <- s
	}()
}

// endings counts the transactions ending in the background. Unlike a
// sync.WaitGroup it may be waited on while ends are added, and a wait may
// be given up.
type endings struct {
	mu   sync.Mutex
	n    int
	idle chan struct{} // closed when n drops to 0
}

func (e *endings) add() {
	e.mu.Lock()
	defer e.mu.Unlock()
	if e.n == 0 {
		e.idle = make(chan struct{})
	}
	e.n++
}

func (e *endings) done() {
	e.mu.Lock()
	defer e.mu.Unlock()
	if e.n--; e.n == 0 {
		close(e.idle)
	}
}

// wait blocks until no end is running or ctx ends.
func (e *endings) wait(ctx context.Context) error {
	e.mu.Lock()
	n, idle := e.n, e.idle
	e.mu.Unlock()
	if n == 0 {
		return nil
	}
	select {
	case <-idle:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// commit commits the slot's transaction. The end is bounded by endWait,
// not by any caller: an interrupted EndTxn leaves the outcome unknown (see
// kgo.Client.EndTransaction). The outcome of a failed commit is not
// trusted: a fresh client for the same transactional id fences this one
// and makes the coordinator abort whatever is still open.
func (p *Producer) commit(s *txSlot) error {
	ctx, cancel := context.WithTimeout(context.Background(), p.endWait)
	defer cancel()
	if err := s.cl.EndTransaction(ctx, kgo.TryCommit); err != nil {
		p.m.transactions.WithLabelValues("aborted").Inc()
		p.recover(s, "commit", err)
		return err
	}
	p.m.transactions.WithLabelValues("committed").Inc()
	return nil
}

// abort aborts the slot's open transaction and then always gives the slot
// a fresh client. A successful EndTxn(abort) is not enough: a produce
// request of the failed transaction that the client gave up on (a request
// timeout, a dropped connection) may still reach its partition leader
// after the abort, and at the same producer epoch it would join the slot's
// next transaction and be committed with it, a Bundle seen in part by
// read_committed consumers. The fresh client's InitProducerID bumps the
// epoch, so such a late record is fenced, and the coordinator aborts
// whatever of the old transaction is still open.
func (p *Producer) abort(s *txSlot, cause error) {
	p.m.transactions.WithLabelValues("aborted").Inc()
	ctx, cancel := context.WithTimeout(context.Background(), p.endWait)
	defer cancel()
	err := s.cl.AbortBufferedRecords(ctx)
	if err == nil {
		err = s.cl.EndTransaction(ctx, kgo.TryAbort)
	}
	p.log.Warn("kafka transaction aborted", "transactional_id", s.id, "reason", string(Classify(cause)))
	if err == nil {
		err = cause
	}
	p.recover(s, "abort", err)
}

// recover replaces the slot's client after an error that may have left it
// in an unusable transactional state, and initializes the new client's
// producer id at once: that bumps the epoch, fencing the old client, and
// the coordinator aborts any transaction the old one left open (otherwise
// read_committed consumers would stall until the transaction timeout).
// It blocks for at most the end-of-transaction bound.
func (p *Producer) recover(s *txSlot, stage string, err error) {
	p.log.Warn("replacing kafka transactional client", "transactional_id", s.id, "stage", stage, "reason", string(Classify(err)), "error", err)
	p.mu.Lock()
	if p.closed {
		p.mu.Unlock()
		return
	}
	old := s.cl
	cl, nerr := p.newTxClient(s.id)
	if nerr != nil {
		p.mu.Unlock()
		p.log.Error("kafka transactional client not replaced", "transactional_id", s.id, "error", nerr)
		return
	}
	s.cl = cl
	p.mu.Unlock()
	old.Close()
	ctx, cancel := context.WithTimeout(context.Background(), p.endWait)
	defer cancel()
	if _, _, err := cl.ProducerID(ctx); err != nil {
		p.log.Warn("kafka transactional producer id not initialized; it will be on next use", "transactional_id", s.id, "reason", string(Classify(err)), "error", err)
	}
}

// Ping asks a broker for metadata; it blocks until one answers or ctx ends.
// Used by /readyz and doctor.
func (p *Producer) Ping(ctx context.Context) error {
	if err := p.cl.Ping(ctx); err != nil {
		return newError("", err)
	}
	return nil
}

// Flush blocks until every buffered record of ordinary publishes is
// acknowledged or failed and every transaction has ended (committed or
// aborted, see Publish), or ctx ends (then it returns ctx's error).
func (p *Producer) Flush(ctx context.Context) error {
	if err := p.cl.Flush(ctx); err != nil {
		return fmt.Errorf("publish: flush: %w", err)
	}
	if err := p.ending.wait(ctx); err != nil {
		return fmt.Errorf("publish: flush: transactions still ending: %w", err)
	}
	return nil
}

// Close closes every client; records still buffered fail with
// kgo.ErrClientClosed, and transactions still ending are cut short (the
// coordinator aborts them at their timeout, or when the transactional id
// is next used), so call Flush first. It returns once nothing runs in the
// background. It is safe to call twice.
func (p *Producer) Close() {
	p.once.Do(func() {
		p.mu.Lock()
		p.closed = true
		slots := p.slots
		p.mu.Unlock()
		for _, s := range slots {
			s.cl.Close()
		}
		if p.cl != nil {
			p.cl.Close()
		}
		_ = p.ending.wait(context.Background())
	})
}

// buffered sums the records and bytes buffered in all clients.
func (p *Producer) buffered() (records, bytes int64) {
	if p.cl == nil {
		return 0, 0
	}
	records, bytes = p.cl.BufferedProduceRecords(), p.cl.BufferedProduceBytes()
	p.mu.Lock()
	defer p.mu.Unlock()
	for _, s := range p.slots {
		records += s.cl.BufferedProduceRecords()
		bytes += s.cl.BufferedProduceBytes()
	}
	return records, bytes
}
