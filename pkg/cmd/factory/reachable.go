package factory

import (
	"context"
	"errors"
	"fmt"
	"net"
	"time"

	"k8s.io/client-go/discovery"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/clientcmd"
)

// ProbeTimeout bounds the first request to the API server when
// --request-timeout is not given: a cluster that does not answer by then is
// reported as unreachable rather than waited for.
const ProbeTimeout = 5 * time.Second

// NoClusterError is returned by KubeClients when the API server does not
// answer: nothing listens there, its name does not resolve, or it stays
// silent past the probe's timeout. Any answer, a refusal of the
// credentials included, means the cluster is reachable.
type NoClusterError struct {
	// Server is the API server that was tried.
	Server string
	// NoKubeconfig says that no kubeconfig was found, so Server is
	// client-go's default.
	NoKubeconfig bool
	// Kubeconfig is the kubeconfig file given that does not exist; then no
	// server was tried.
	Kubeconfig string
	Err        error
}

func (e *NoClusterError) Error() string {
	if e.Kubeconfig != "" {
		return fmt.Sprintf("no cluster is reachable: the kubeconfig %q does not exist", e.Kubeconfig)
	}
	cause := e.Err.Error()
	var op *net.OpError
	if errors.As(e.Err, &op) && op.Err != nil {
		cause = op.Err.Error()
	}
	var ne net.Error
	if errors.As(e.Err, &ne) && ne.Timeout() {
		cause = "no answer in time"
	}
	if e.NoKubeconfig {
		return fmt.Sprintf("no cluster is reachable: no kubeconfig was found (KUBECONFIG, ~/.kube/config), and the default API server %s did not answer (%s)", e.Server, cause)
	}
	return fmt.Sprintf("no cluster is reachable: the API server %s did not answer (%s)", e.Server, cause)
}

func (e *NoClusterError) Unwrap() error { return e.Err }

// probe asks the API server of cfg for its version, once, within
// ProbeTimeout (or cfg's own timeout), and returns a *NoClusterError when
// it does not answer.
func (f *Factory) probe(cfg *rest.Config) error {
	c := rest.CopyConfig(cfg)
	if c.Timeout == 0 {
		c.Timeout = ProbeTimeout
	}
	dc, err := discovery.NewDiscoveryClientForConfig(c)
	if err != nil {
		return fmt.Errorf("creating a Kubernetes client for %q: %w", cfg.Host, err)
	}
	_, err = dc.ServerVersion()
	if err == nil || !unreachable(err) {
		// An answer: whatever it was, the requests that follow report it
		// in their own words.
		return nil
	}
	nc := &NoClusterError{Server: cfg.Host, Err: err}
	if raw, rerr := f.ConfigFlags.ToRawKubeConfigLoader().RawConfig(); rerr == nil && len(raw.Clusters) == 0 {
		nc.NoKubeconfig = cfg.Host == clientcmd.ClusterDefaults.Server
	}
	return nc
}

// unreachable reports whether err means no API server answered: the
// connection could not be made (refused, no route, unknown host) or
// nothing came back in time.
func unreachable(err error) bool {
	var op *net.OpError
	if errors.As(err, &op) && (op.Op == "dial" || op.Op == "proxyconnect") {
		return true
	}
	var dns *net.DNSError
	if errors.As(err, &dns) {
		return true
	}
	var ne net.Error
	return errors.Is(err, context.DeadlineExceeded) || (errors.As(err, &ne) && ne.Timeout())
}
