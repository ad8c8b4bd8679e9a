package ecr

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/aws/aws-sdk-go-v2/credentials"
)

// fakeECR is the part of the ECR control plane Ensure uses, speaking the
// awsJson1_1 protocol the SDK speaks (X-Amz-Target names the operation;
// errors carry __type). Its answers follow the ECR API reference:
// DescribeRepositories with a name that does not exist fails with
// RepositoryNotFoundException, and CreateRepository of an existing name
// with RepositoryAlreadyExistsException.
type fakeECR struct {
	mu      sync.Mutex
	repos   map[string]map[string]any // name -> CreateRepository request
	deny    map[string]bool           // operation -> AccessDeniedException
	created []string
	// raceOn makes the repository appear between the describe and the
	// create, as when another writer creates it.
	raceOn string
}

func (f *fakeECR) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	f.mu.Lock()
	defer f.mu.Unlock()
	op := strings.TrimPrefix(r.Header.Get("X-Amz-Target"), "AmazonEC2ContainerRegistry_V20150921.")
	var req map[string]any
	if err := json.NewDecoder(r.Body).Decode(&req); err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	fail := func(typ, msg string) {
		w.Header().Set("Content-Type", "application/x-amz-json-1.1")
		w.Header().Set("X-Amzn-ErrorType", typ)
		w.WriteHeader(http.StatusBadRequest)
		_ = json.NewEncoder(w).Encode(map[string]string{"__type": typ, "message": msg})
	}
	if f.deny[op] {
		fail("AccessDeniedException", fmt.Sprintf("User: arn:aws:sts::123456789012:assumed-role/mirror/x is not authorized to perform: ecr:%s", op))
		return
	}
	w.Header().Set("Content-Type", "application/x-amz-json-1.1")
	switch op {
	case "DescribeRepositories":
		names, _ := req["repositoryNames"].([]any)
		var out []map[string]any
		for _, n := range names {
			name, _ := n.(string)
			if _, ok := f.repos[name]; !ok {
				if name == f.raceOn {
					f.repos[name] = map[string]any{}
				}
				fail("RepositoryNotFoundException", fmt.Sprintf("The repository with name '%s' does not exist in the registry with id '123456789012'", name))
				return
			}
			out = append(out, map[string]any{"repositoryName": name})
		}
		_ = json.NewEncoder(w).Encode(map[string]any{"repositories": out})
	case "CreateRepository":
		name, _ := req["repositoryName"].(string)
		if _, ok := f.repos[name]; ok {
			fail("RepositoryAlreadyExistsException", fmt.Sprintf("The repository with name '%s' already exists in the registry with id '123456789012'", name))
			return
		}
		f.repos[name] = req
		f.created = append(f.created, name)
		_ = json.NewEncoder(w).Encode(map[string]any{"repository": map[string]any{"repositoryName": name}})
	default:
		fail("UnknownOperationException", op)
	}
}

const host = "123456789012.dkr.ecr.eu-west-1.amazonaws.com"

func newCreator(t *testing.T, f *fakeECR, s Settings) *Creator {
	t.Helper()
	srv := httptest.NewServer(f)
	t.Cleanup(srv.Close)
	reg, ok := ParseHost(host)
	if !ok {
		t.Fatalf("ParseHost(%q) is not ECR", host)
	}
	c, err := New(context.Background(), reg, Options{Settings: s, Endpoint: srv.URL,
		Credentials: credentials.NewStaticCredentialsProvider("AKIATEST", "secret", "")})
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// ensure creates repos (paths in the test registry) through Create and
// returns the paths created and, joined in order, one error per failure.
func ensure(c *Creator, repos ...string) ([]string, error) {
	var full []string
	for _, r := range repos {
		full = append(full, host+"/"+r)
	}
	created, failed := c.Create(context.Background(), full)
	var paths []string
	for _, r := range created {
		paths = append(paths, strings.TrimPrefix(r, host+"/"))
	}
	var errs []error
	for _, r := range full {
		if err, ok := failed[r]; ok {
			errs = append(errs, err)
		}
	}
	return paths, errors.Join(errs...)
}

func TestParseHost(t *testing.T) {
	for h, want := range map[string]Registry{
		host: {Host: host, Account: "123456789012", Region: "eu-west-1"},
		"123456789012.dkr.ecr-fips.us-east-1.amazonaws.com": {Host: "123456789012.dkr.ecr-fips.us-east-1.amazonaws.com", Account: "123456789012", Region: "us-east-1"},
		"123456789012.dkr.ecr.cn-north-1.amazonaws.com.cn":  {Host: "123456789012.dkr.ecr.cn-north-1.amazonaws.com.cn", Account: "123456789012", Region: "cn-north-1"},
		"registry.example.com":                              {},
		"12345.dkr.ecr.eu-west-1.amazonaws.com":             {},
		"123456789012.dkr.ecr.eu-west-1.amazonaws.com.evil": {},
		"public.ecr.aws": {},
	} {
		got, ok := ParseHost(h)
		if ok != (want.Host != "") || got != want {
			t.Errorf("ParseHost(%q) = %+v, %v; want %+v", h, got, ok, want)
		}
	}
}

// TestEnsure: missing repositories are created, existing ones left alone,
// and one another writer creates meanwhile counts as existing.
func TestEnsure(t *testing.T) {
	f := &fakeECR{repos: map[string]map[string]any{"atlan/atlan-sdr": {}}, raceOn: "atlan/raced"}
	c := newCreator(t, f, Settings{})
	created, err := ensure(c, "atlan/atlan-sdr", "atlan/atlan-teradata-app", "atlan/raced")
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(created, []string{"atlan/atlan-teradata-app"}) || !slices.Equal(f.created, created) {
		t.Errorf("created %q (server: %q), want atlan/atlan-teradata-app only", created, f.created)
	}
	req := f.repos["atlan/atlan-teradata-app"]
	if req["imageTagMutability"] != "MUTABLE" || req["registryId"] != "123456789012" {
		t.Errorf("CreateRepository request %v, want MUTABLE in registry 123456789012", req)
	}
	if scan, _ := req["imageScanningConfiguration"].(map[string]any); scan["scanOnPush"] == true {
		t.Errorf("scanning configuration %v, want scanOnPush off", req["imageScanningConfiguration"])
	}
	// A second run creates nothing.
	if created, err := ensure(c, "atlan/atlan-teradata-app"); err != nil || len(created) != 0 {
		t.Errorf("second Ensure created %q, %v; want nothing", created, err)
	}
}

// TestEnsureImmutable: immutable repositories keep the sha256-* tags of
// signatures and the referrers fallback writable.
func TestEnsureImmutable(t *testing.T) {
	f := &fakeECR{repos: map[string]map[string]any{}}
	c := newCreator(t, f, Settings{TagMutability: Immutable, ScanOnPush: true})
	if _, err := ensure(c, "atlan/a"); err != nil {
		t.Fatal(err)
	}
	req := f.repos["atlan/a"]
	filters, _ := req["imageTagMutabilityExclusionFilters"].([]any)
	if req["imageTagMutability"] != "IMMUTABLE_WITH_EXCLUSION" || len(filters) != 1 ||
		fmt.Sprint(filters[0]) != "map[filter:sha256-* filterType:WILDCARD]" {
		t.Errorf("CreateRepository request %v, want IMMUTABLE_WITH_EXCLUSION excluding sha256-*", req)
	}
	if scan, _ := req["imageScanningConfiguration"].(map[string]any); scan["scanOnPush"] != true {
		t.Errorf("scanning configuration %v, want scanOnPush true", req["imageScanningConfiguration"])
	}
}

// TestEnsureDenied: a refusal is one line per repository naming the
// repository, ECR's own message and the IAM actions to grant.
func TestEnsureDenied(t *testing.T) {
	for _, op := range []string{"DescribeRepositories", "CreateRepository"} {
		t.Run(op, func(t *testing.T) {
			f := &fakeECR{repos: map[string]map[string]any{}, deny: map[string]bool{op: true}}
			c := newCreator(t, f, Settings{})
			created, err := ensure(c, "atlan/a", "atlan/b")
			if err == nil || len(created) != 0 || len(f.created) != 0 {
				t.Fatalf("Ensure = %q, %v; want an error and nothing created", created, err)
			}
			lines := strings.Split(err.Error(), "\n")
			if len(lines) != 2 {
				t.Fatalf("error has %d lines, want one per repository:\n%s", len(lines), err)
			}
			for i, repo := range []string{"atlan/a", "atlan/b"} {
				for _, want := range []string{
					fmt.Sprintf("ECR repository %q in %s", repo, host),
					"AccessDeniedException: User: arn:aws:sts::123456789012:assumed-role/mirror/x is not authorized to perform: ecr:" + op,
					"grant the push identity ecr:DescribeRepositories and ecr:CreateRepository on arn:aws:ecr:eu-west-1:123456789012:repository/" + repo,
				} {
					if !strings.Contains(lines[i], want) {
						t.Errorf("line %d = %q, want %q in it", i, lines[i], want)
					}
				}
			}
		})
	}
}

func TestSettingsCheck(t *testing.T) {
	if err := (Settings{TagMutability: "IMMUTABLE"}).Check(); err == nil || !strings.Contains(err.Error(), `ecr-tag-mutability "IMMUTABLE": want mutable or immutable`) {
		t.Errorf("Check = %v", err)
	}
	for _, ok := range []string{"", Mutable, Immutable} {
		if err := (Settings{TagMutability: ok}).Check(); err != nil {
			t.Errorf("Check(%q) = %v", ok, err)
		}
	}
}

// TestCreate: as the plan's repository creator, it creates only the
// repositories of its own registry, named HOST/PATH, and reports each one
// it could not create by that name.
func TestCreate(t *testing.T) {
	f := &fakeECR{repos: map[string]map[string]any{"atlan/have": {}}}
	c := newCreator(t, f, Settings{})
	created, failed := c.Create(context.Background(), []string{host + "/atlan/have", host + "/atlan/new", "registry.example.com/atlan/other"})
	if !slices.Equal(created, []string{host + "/atlan/new"}) || len(failed) != 0 || !slices.Equal(f.created, []string{"atlan/new"}) {
		t.Errorf("Create = %q, %v (server created %q); want %s/atlan/new only", created, failed, f.created, host)
	}
	f.deny = map[string]bool{"CreateRepository": true}
	created, failed = c.Create(context.Background(), []string{host + "/atlan/denied"})
	if len(created) != 0 || failed[host+"/atlan/denied"] == nil || !strings.Contains(failed[host+"/atlan/denied"].Error(), "ecr:CreateRepository") {
		t.Errorf("Create = %q, %v; want %s/atlan/denied failed naming ecr:CreateRepository", created, failed, host)
	}
}
