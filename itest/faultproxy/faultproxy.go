// Package faultproxy is a loopback HTTP reverse proxy for fault tests. It
// fronts a real server (DynamoDB Local, a KMS-compatible endpoint) and, per
// request, forwards it unchanged or injects a fault chosen by rules:
// forward the request but lose the response (the target applied it, the
// client never learns), fail before forwarding, answer a canned status and
// body (throttling, 500, 503), or delay.
//
// Rules match on the AWS JSON protocol operation (the part of the
// X-Amz-Target header after the last dot, for example "PutItem" or
// "Decrypt") and/or a predicate on the request and its body. A rule fires
// for the next N matching requests, or with probability P per matching
// request from a seeded generator, so fault schedules are reproducible.
// The proxy listens on 127.0.0.1 only.
//
//	p, _ := faultproxy.New(itest.Endpoint(t), faultproxy.WithSeed(1))
//	defer p.Close()
//	p.Add(faultproxy.Rule{Operation: "UpdateItem", Probability: 0.2, Action: faultproxy.DropResponse})
//	c := itest.NewDynamoDBClient(p.URL())
package faultproxy

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"net"
	"net/http"
	"strings"
	"sync"
	"time"
)

// Action is what a firing rule does with a request.
type Action int

const (
	// Forward sends the request to the target and returns its answer (after
	// Rule.Delay, if any). A rule with Forward and a Delay is a delay rule.
	Forward Action = iota
	// DropResponse sends the request to the target, waits for the complete
	// answer (so the target has applied it), then closes the client's
	// connection without writing anything: a response lost in the network.
	DropResponse
	// FailAfterForward sends the request to the target, then answers the
	// client with Rule.Status (default 500) and an empty body instead of the
	// target's answer: the write was applied, the client sees a server error.
	FailAfterForward
	// DropRequest closes the client's connection without forwarding.
	DropRequest
	// Respond answers Rule.Status and Rule.Body without forwarding.
	Respond
)

// String names the action.
func (a Action) String() string {
	switch a {
	case Forward:
		return "Forward"
	case DropResponse:
		return "DropResponse"
	case FailAfterForward:
		return "FailAfterForward"
	case DropRequest:
		return "DropRequest"
	case Respond:
		return "Respond"
	}
	return fmt.Sprintf("Action(%d)", int(a))
}

// Rule selects requests and says what to do with them. Rules are tried in
// the order they were added; the first that matches and fires decides.
type Rule struct {
	// Operation matches the operation name from X-Amz-Target ("" matches
	// every request).
	Operation string
	// Match, when set, must also return true. body is the complete request
	// body; Match must not keep it or change it.
	Match func(r *http.Request, body []byte) bool
	// Count, when > 0, makes the rule fire for the next Count matching
	// requests only (after Skip), then never again.
	Count int
	// Skip lets the first Skip matching requests through before the rule
	// can fire.
	Skip int
	// Probability, when > 0, makes the rule fire for each matching request
	// with this probability (from the proxy's seeded generator). 0 means
	// always (within Count).
	Probability float64
	// Action is what a firing rule does.
	Action Action
	// Delay is waited before the action (any action).
	Delay time.Duration
	// Status and Body are the answer of Respond (Status default 400), and
	// Status the answer of FailAfterForward (default 500).
	Status int
	Body   string
	// ContentType of a Respond answer (default application/x-amz-json-1.0).
	ContentType string
}

// Handle is a rule added to a proxy.
type Handle struct {
	p     *Proxy
	rule  Rule
	seen  int // matching requests so far
	fired int
	gone  bool
}

// Fired returns how many times the rule fired.
func (h *Handle) Fired() int {
	h.p.mu.Lock()
	defer h.p.mu.Unlock()
	return h.fired
}

// Remove stops the rule from firing again.
func (h *Handle) Remove() {
	h.p.mu.Lock()
	defer h.p.mu.Unlock()
	h.gone = true
}

// Stats are the proxy's counters.
type Stats struct {
	// Requests is every request received.
	Requests int
	// Forwarded is every request sent to the target.
	Forwarded int
	// Faults counts fired rules by action (Forward counts delays).
	Faults map[Action]int
	// ByOperation counts requests received per operation.
	ByOperation map[string]int
}

// Injected is the number of fired rules whose action was not Forward.
func (s Stats) Injected() int {
	n := 0
	for a, c := range s.Faults {
		if a != Forward {
			n += c
		}
	}
	return n
}

// Option configures a Proxy.
type Option func(*Proxy)

// WithSeed seeds the generator behind Rule.Probability (default seed 1).
func WithSeed(seed uint64) Option {
	return func(p *Proxy) { p.rng = rand.New(rand.NewPCG(seed, seed^0x9e3779b97f4a7c15)) }
}

// Proxy is a running fault-injecting reverse proxy. Its methods are safe for
// concurrent use.
type Proxy struct {
	target string
	ln     net.Listener
	srv    *http.Server
	client *http.Client

	mu    sync.Mutex
	rng   *rand.Rand
	rules []*Handle
	stats Stats
}

// New starts a proxy on a free 127.0.0.1 port in front of target, a base
// URL such as "http://127.0.0.1:8000". Close it when done.
func New(target string, opts ...Option) (*Proxy, error) {
	if !strings.HasPrefix(target, "http://") && !strings.HasPrefix(target, "https://") {
		return nil, fmt.Errorf("faultproxy: target %q is not an http(s) URL", target)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, fmt.Errorf("faultproxy: listen: %w", err)
	}
	p := &Proxy{
		target: strings.TrimRight(target, "/"),
		ln:     ln,
		client: &http.Client{Transport: &http.Transport{
			DisableCompression:  true, // pass the body through as the target sent it (CRC32 headers)
			MaxIdleConnsPerHost: 64,
			IdleConnTimeout:     30 * time.Second,
		}},
		stats: Stats{Faults: map[Action]int{}, ByOperation: map[string]int{}},
	}
	WithSeed(1)(p)
	for _, o := range opts {
		o(p)
	}
	p.srv = &http.Server{Handler: http.HandlerFunc(p.serve), ReadHeaderTimeout: 10 * time.Second}
	go func() { _ = p.srv.Serve(ln) }()
	return p, nil
}

// URL is the proxy's base URL (http://127.0.0.1:port).
func (p *Proxy) URL() string { return "http://" + p.ln.Addr().String() }

// Close stops the proxy and closes its connections.
func (p *Proxy) Close() error {
	err := p.srv.Close()
	p.client.CloseIdleConnections()
	return err
}

// Add adds a rule after the existing ones and returns its handle.
func (p *Proxy) Add(r Rule) *Handle {
	h := &Handle{p: p, rule: r}
	p.mu.Lock()
	p.rules = append(p.rules, h)
	p.mu.Unlock()
	return h
}

// Clear removes every rule.
func (p *Proxy) Clear() {
	p.mu.Lock()
	for _, h := range p.rules {
		h.gone = true
	}
	p.rules = nil
	p.mu.Unlock()
}

// Stats returns a copy of the counters.
func (p *Proxy) Stats() Stats {
	p.mu.Lock()
	defer p.mu.Unlock()
	s := Stats{Requests: p.stats.Requests, Forwarded: p.stats.Forwarded, Faults: map[Action]int{}, ByOperation: map[string]int{}}
	for k, v := range p.stats.Faults {
		s.Faults[k] = v
	}
	for k, v := range p.stats.ByOperation {
		s.ByOperation[k] = v
	}
	return s
}

// Operation returns the operation name of an AWS JSON protocol request (the
// part of X-Amz-Target after the last dot), or "".
func Operation(r *http.Request) string {
	t := r.Header.Get("X-Amz-Target")
	if i := strings.LastIndexByte(t, '.'); i >= 0 {
		return t[i+1:]
	}
	return t
}

// pick returns the rule that fires for the request, or nil.
func (p *Proxy) pick(r *http.Request, op string, body []byte) *Rule {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.stats.Requests++
	p.stats.ByOperation[op]++
	for _, h := range p.rules {
		ru := &h.rule
		if h.gone || (ru.Operation != "" && ru.Operation != op) {
			continue
		}
		if ru.Match != nil && !ru.Match(r, body) {
			continue
		}
		h.seen++
		if h.seen <= ru.Skip {
			continue
		}
		if ru.Count > 0 && h.fired >= ru.Count {
			continue
		}
		if ru.Probability > 0 && p.rng.Float64() >= ru.Probability {
			continue
		}
		h.fired++
		p.stats.Faults[ru.Action]++
		rc := *ru
		return &rc
	}
	return nil
}

func (p *Proxy) serve(w http.ResponseWriter, r *http.Request) {
	body, err := io.ReadAll(r.Body)
	if err != nil {
		http.Error(w, "faultproxy: read request", http.StatusBadGateway)
		return
	}
	rule := p.pick(r, Operation(r), body)
	if rule == nil {
		p.forwardTo(w, r, body)
		return
	}
	if rule.Delay > 0 {
		if err := sleep(r.Context(), rule.Delay); err != nil {
			return
		}
	}
	switch rule.Action {
	case Forward:
		p.forwardTo(w, r, body)
	case DropResponse:
		if resp, err := p.forward(r, body); err == nil {
			_, _ = io.Copy(io.Discard, resp.Body)
			_ = resp.Body.Close()
		}
		hangUp(w)
	case FailAfterForward:
		if resp, err := p.forward(r, body); err == nil {
			_, _ = io.Copy(io.Discard, resp.Body)
			_ = resp.Body.Close()
		}
		w.Header().Set("Content-Length", "0")
		w.WriteHeader(orDefault(rule.Status, http.StatusInternalServerError))
	case DropRequest:
		hangUp(w)
	case Respond:
		ct := rule.ContentType
		if ct == "" {
			ct = "application/x-amz-json-1.0"
		}
		w.Header().Set("Content-Type", ct)
		w.Header().Set("X-Amzn-Requestid", "faultproxy")
		w.WriteHeader(orDefault(rule.Status, http.StatusBadRequest))
		_, _ = io.WriteString(w, rule.Body)
	}
}

func (p *Proxy) forward(r *http.Request, body []byte) (*http.Response, error) {
	out, err := http.NewRequestWithContext(r.Context(), r.Method, p.target+r.URL.RequestURI(), bytes.NewReader(body))
	if err != nil {
		return nil, err
	}
	out.Header = r.Header.Clone()
	out.Host = r.Host // the client signed its request for this host
	out.ContentLength = int64(len(body))
	p.mu.Lock()
	p.stats.Forwarded++
	p.mu.Unlock()
	return p.client.Do(out)
}

func (p *Proxy) forwardTo(w http.ResponseWriter, r *http.Request, body []byte) {
	resp, err := p.forward(r, body)
	if err != nil {
		if !errors.Is(err, context.Canceled) {
			http.Error(w, "faultproxy: target unreachable", http.StatusBadGateway)
		}
		return
	}
	defer resp.Body.Close()
	for k, vs := range resp.Header {
		w.Header()[k] = vs
	}
	w.WriteHeader(resp.StatusCode)
	_, _ = io.Copy(w, resp.Body)
}

// hangUp closes the client connection without a response.
func hangUp(w http.ResponseWriter) {
	if hj, ok := w.(http.Hijacker); ok {
		if conn, _, err := hj.Hijack(); err == nil {
			_ = conn.Close()
			return
		}
	}
	panic(http.ErrAbortHandler) // closes the connection without an answer
}

func orDefault(v, d int) int {
	if v == 0 {
		return d
	}
	return v
}

func sleep(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return nil
	}
}

// AWSError is the JSON body of an AWS JSON protocol error of type typ (for
// example "ThrottlingException", "ProvisionedThroughputExceededException").
// DynamoDB's own answers qualify the type with its namespace; the SDKs
// accept both.
func AWSError(typ, message string) string {
	return fmt.Sprintf(`{"__type":%q,"message":%q}`, "com.amazonaws.dynamodb.v20120810#"+typ, message)
}

// Throttle is a Respond rule answering 400 ThrottlingException for op
// (every operation when op is "").
func Throttle(op string) Rule {
	return Rule{Operation: op, Action: Respond, Status: http.StatusBadRequest, Body: AWSError("ThrottlingException", "Rate exceeded")}
}

// ThroughputExceeded is a Respond rule answering 400
// ProvisionedThroughputExceededException for op.
func ThroughputExceeded(op string) Rule {
	return Rule{Operation: op, Action: Respond, Status: http.StatusBadRequest,
		Body: AWSError("ProvisionedThroughputExceededException", "The level of configured provisioned throughput for the table was exceeded.")}
}

// ServerError is a Respond rule answering status (500, 503...) with an AWS
// error body naming typ (InternalServerError, ServiceUnavailable...), or an
// empty body when typ is "".
func ServerError(op string, status int, typ string) Rule {
	r := Rule{Operation: op, Action: Respond, Status: status}
	if typ != "" {
		r.Body = AWSError(typ, "injected by faultproxy")
	}
	return r
}
