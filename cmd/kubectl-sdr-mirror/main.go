// Command kubectl-sdr_mirror mirrors Atlan SDR images into a private
// registry and keeps the SDR's image map in step. kubectl runs it as
// "kubectl sdr-mirror", Helm as "helm sdr-mirror".
package main

import (
	"context"
	"os"
	"os/signal"
	"syscall"

	"k8s.io/cli-runtime/pkg/genericiooptions"

	"github.com/sdr-mirror/kubectl-sdr-mirror/pkg/cli"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	code := cli.Main(ctx, genericiooptions.IOStreams{In: os.Stdin, Out: os.Stdout, ErrOut: os.Stderr}, os.Args[1:])
	stop()
	os.Exit(code)
}
