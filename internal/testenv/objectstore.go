package testenv

import (
	"context"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"syscall"
	"testing"
	"time"

	"cloud.google.com/go/storage"
	"github.com/Azure/azure-sdk-for-go/sdk/storage/azblob/container"
	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"google.golang.org/api/option"
)

// Process is a server a test started on 127.0.0.1; it is stopped when the
// test ends.
type Process struct {
	Name string
	// Addr is host:port of the server.
	Addr string
	// Dir is the server's data directory.
	Dir string
	Log string
	cmd *exec.Cmd
	t   testing.TB
}

// FreePort returns a TCP port on 127.0.0.1 that nothing listens on now.
func FreePort(t testing.TB) int {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatalf("finding a free port: %v", err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port
}

// Start runs cmd (its data in dir, its output in a log file there), waits up
// to a minute until addr accepts connections and stops it with the test.
func Start(t testing.TB, name string, cmd *exec.Cmd, addr, dir string) *Process {
	t.Helper()
	p := &Process{Name: name, Addr: addr, Dir: dir, Log: filepath.Join(dir, name+".log"), cmd: cmd, t: t}
	logf, err := os.Create(p.Log)
	if err != nil {
		t.Fatal(err)
	}
	cmd.Stdout, cmd.Stderr = logf, logf
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if err := cmd.Start(); err != nil {
		_ = logf.Close()
		t.Fatalf("starting %s: %v", name, err)
	}
	exited := make(chan struct{})
	go func() { _ = cmd.Wait(); _ = logf.Close(); close(exited) }()
	t.Cleanup(func() { p.stop(exited) })
	deadline := time.Now().Add(time.Minute)
	for {
		c, err := net.DialTimeout("tcp", addr, time.Second)
		if err == nil {
			_ = c.Close()
			return p
		}
		select {
		case <-exited:
			log, _ := os.ReadFile(p.Log)
			t.Fatalf("%s exited before listening on %s:\n%s", name, addr, log)
		case <-time.After(50 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			log, _ := os.ReadFile(p.Log)
			t.Fatalf("%s did not listen on %s within a minute:\n%s", name, addr, log)
		}
	}
}

func (p *Process) stop(exited chan struct{}) {
	select {
	case <-exited:
		return
	default:
	}
	// The process group: Azurite runs under node, which may fork.
	_ = syscall.Kill(-p.cmd.Process.Pid, syscall.SIGTERM)
	select {
	case <-exited:
	case <-time.After(10 * time.Second):
		_ = syscall.Kill(-p.cmd.Process.Pid, syscall.SIGKILL)
		<-exited
	}
}

// StartVersityGW starts the S3 gateway versitygw with a posix backend and
// the given root credentials, creates bucket and returns the endpoint URL.
func StartVersityGW(t testing.TB, accessKey, secretKey, bucket string) string {
	t.Helper()
	return StartVersityGWTLS(t, accessKey, secretKey, bucket, nil)
}

// StartVersityGWTLS is StartVersityGW serving HTTPS with c's certificate
// when c is not nil.
func StartVersityGWTLS(t testing.TB, accessKey, secretKey, bucket string, c *TLS) string {
	t.Helper()
	bin := Path(t, "SDR_MIRROR_VERSITYGW")
	dir := t.TempDir()
	root := filepath.Join(dir, "root")
	if err := os.Mkdir(root, 0o750); err != nil {
		t.Fatal(err)
	}
	addr := "127.0.0.1:" + strconv.Itoa(FreePort(t))
	args := []string{"--port", addr, "--quiet"}
	scheme, httpClient := "http", http.DefaultClient
	if c != nil {
		args = append(args, "--cert", c.Cert, "--key", c.Key)
		scheme, httpClient = "https", c.Client()
	}
	cmd := exec.Command(bin, append(args, "posix", "--sidecar", filepath.Join(dir, "meta"), root)...)
	// Credentials through the environment of the server only.
	cmd.Env = append(os.Environ(), "ROOT_ACCESS_KEY_ID="+accessKey, "ROOT_SECRET_ACCESS_KEY="+secretKey)
	if err := os.Mkdir(filepath.Join(dir, "meta"), 0o750); err != nil {
		t.Fatal(err)
	}
	Start(t, "versitygw", cmd, addr, dir)
	endpoint := scheme + "://" + addr
	client := s3.New(s3.Options{
		Region: "us-east-1", BaseEndpoint: aws.String(endpoint), UsePathStyle: true, HTTPClient: httpClient,
		Credentials: credentials.NewStaticCredentialsProvider(accessKey, secretKey, ""),
	})
	if _, err := client.CreateBucket(context.Background(), &s3.CreateBucketInput{Bucket: aws.String(bucket)}); err != nil {
		t.Fatalf("creating S3 bucket %q: %v", bucket, err)
	}
	return endpoint
}

// StartFakeGCS starts fake-gcs-server over plain HTTP with a filesystem
// backend, creates bucket and returns its endpoint URL.
func StartFakeGCS(t testing.TB, bucket string) string {
	t.Helper()
	return StartFakeGCSTLS(t, bucket, nil)
}

// StartFakeGCSTLS is StartFakeGCS serving HTTPS with c's certificate when c
// is not nil.
func StartFakeGCSTLS(t testing.TB, bucket string, c *TLS) string {
	t.Helper()
	bin := Path(t, "SDR_MIRROR_FAKE_GCS")
	dir := t.TempDir()
	port := FreePort(t)
	addr := fmt.Sprintf("127.0.0.1:%d", port)
	scheme, httpClient := "http", http.DefaultClient
	args := []string{"-host", "127.0.0.1", "-port", strconv.Itoa(port), "-public-host", addr,
		"-backend", "filesystem", "-filesystem-root", filepath.Join(dir, "data"), "-log-level", "warn"}
	if c != nil {
		scheme, httpClient = "https", c.Client()
		args = append(args, "-cert-location", c.Cert, "-private-key-location", c.Key)
	}
	cmd := exec.Command(bin, append(args, "-scheme", scheme, "-external-url", scheme+"://"+addr)...)
	Start(t, "fake-gcs-server", cmd, addr, dir)
	endpoint := scheme + "://" + addr
	client, err := storage.NewClient(context.Background(), option.WithEndpoint(endpoint+"/storage/v1/"), option.WithoutAuthentication(),
		option.WithHTTPClient(httpClient))
	if err != nil {
		t.Fatal(err)
	}
	defer client.Close()
	if err := client.Bucket(bucket).Create(context.Background(), "sdr-project", nil); err != nil {
		t.Fatalf("creating GCS bucket %q: %v", bucket, err)
	}
	return endpoint
}

// StartAzurite starts Azurite's blob service with one account and key
// (base64), creates container and returns the endpoint URL without the
// account; requests go to <endpoint>/<account>/<container>.
func StartAzurite(t testing.TB, account, key, containerName string) string {
	t.Helper()
	return StartAzuriteTLS(t, account, key, containerName, nil)
}

// StartAzuriteTLS is StartAzurite serving HTTPS with c's certificate when c
// is not nil.
func StartAzuriteTLS(t testing.TB, account, key, containerName string, c *TLS) string {
	t.Helper()
	main := Path(t, "SDR_MIRROR_AZURITE")
	node, err := exec.LookPath("node")
	if err != nil {
		Missing(t, "node is not on PATH (Azurite runs on Node.js 20)")
	}
	dir := t.TempDir()
	port := FreePort(t)
	addr := fmt.Sprintf("127.0.0.1:%d", port)
	args := []string{main, "--blobHost", "127.0.0.1", "--blobPort", strconv.Itoa(port),
		"--location", filepath.Join(dir, "data"), "--disableTelemetry", "--skipApiVersionCheck", "--silent"}
	scheme := "http"
	var opts *container.ClientOptions
	if c != nil {
		args = append(args, "--cert", c.Cert, "--key", c.Key)
		scheme = "https"
		opts = &container.ClientOptions{}
		opts.Transport = c.Client()
	}
	cmd := exec.Command(node, args...)
	cmd.Env = append(os.Environ(), "AZURITE_ACCOUNTS="+account+":"+key)
	Start(t, "azurite", cmd, addr, dir)
	endpoint := scheme + "://" + addr
	cred, err := container.NewSharedKeyCredential(account, key)
	if err != nil {
		t.Fatal(err)
	}
	cc, err := container.NewClientWithSharedKeyCredential(endpoint+"/"+account+"/"+containerName, cred, opts)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := cc.Create(context.Background(), nil); err != nil {
		t.Fatalf("creating Azure container %q: %v", containerName, err)
	}
	return endpoint
}
