package codegen_test

import (
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/dynaseal/dynaseal/itest"
)

// readReadme returns the repository's README.md, skipping the test under
// -short (what makes it slow: why).
func readReadme(t *testing.T, why string) []byte {
	t.Helper()
	if testing.Short() {
		t.Skip(why + "; skipped with -short")
	}
	readme, err := os.ReadFile(filepath.Join(repoRoot(t), "README.md"))
	if err != nil {
		t.Fatal(err)
	}
	return readme
}

// readmeBlocks returns the fenced blocks in language lang (```go,
// ```sh) of the README section whose "## " heading is title, in order.
func readmeBlocks(t *testing.T, readme, title, lang string) []string {
	t.Helper()
	var blocks []string
	section, in := "", false
	var cur []string
	for _, l := range strings.Split(readme, "\n") {
		switch {
		case !in && strings.HasPrefix(l, "## "):
			section = strings.TrimPrefix(l, "## ")
		case !in && l == "```"+lang && section == title:
			in, cur = true, nil
		case in && l == "```":
			in = false
			blocks = append(blocks, strings.Join(cur, "\n")+"\n")
		case in:
			cur = append(cur, l)
		}
	}
	if len(blocks) == 0 {
		t.Fatalf("README has no %s block under %q", lang, title)
	}
	return blocks
}

// errAssign matches a statement that sets err (the README leaves the checks
// out; the test puts one after each, so a failure names its line).
var errAssign = regexp.MustCompile(`(^|, )err :?= `)

// lineComment matches a // comment (not the // of a URL in a string).
var lineComment = regexp.MustCompile(`(^|\s)//.*$`)

// checkErrors returns body with "if err != nil" after every top-level
// statement that assigns err, naming the README line in the error.
func checkErrors(body string) string {
	var out []string
	depth := 0
	for _, l := range strings.Split(body, "\n") {
		out = append(out, l)
		code := lineComment.ReplaceAllString(l, "")
		starts := depth == 0
		depth += strings.Count(code, "{") + strings.Count(code, "(") - strings.Count(code, "}") - strings.Count(code, ")")
		if starts && depth == 0 && errAssign.MatchString(code) {
			out = append(out, fmt.Sprintf("if err != nil {\n\treturn fmt.Errorf(\"%%s: %%w\", %q, err)\n}", strings.TrimSpace(code)))
		}
	}
	return strings.Join(out, "\n")
}

const readmeMainHead = `package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/dynaseal/dynaseal/schema"
	"github.com/dynaseal/dynaseal/tenantkeys"

	"example.com/e2e/patients"
)

func main() {
	if err := run(context.Background(), "fresh-tenant"); err != nil {
		fmt.Fprintln(os.Stderr, "FAIL:", err)
		os.Exit(1)
	}
	fmt.Println("README-OK")
}

func run(ctx context.Context, tenantFromJWT string) error {
`

// The README's snippets end with a query; this checks what they stored.
const readmeMainTail = `
	got, err := clinic.Get(ctx, "p-1")
	if err != nil {
		return err
	}
	if p.Name != "Ada" || p.SSN != "123-45-6789" || got.Plan != "gold" || got.Version != 2 {
		return errors.New("the README flow stored something else")
	}
	return nil
}
`

// TestReadmeFreshModule follows only the README in a new, empty module:
// the Patient type of "Define a type" as written, that section's install
// commands (go get of the generator, go generate with the real command),
// then every snippet of "Use the repository" as written (client
// configuration for DynamoDB Local, table and key store creation, key
// creation, Create, Get, Update, Query), go mod tidy, and a run against
// DynamoDB Local. The only edits: a replace directive with @v0.0.0 standing
// for the published module, the endpoint (the test's DynamoDB Local),
// unique table names (a shared endpoint may hold another run's tables),
// error checks after each statement the README leaves unchecked, and a tail
// that checks what was stored.
func TestReadmeFreshModule(t *testing.T) {
	readme := readReadme(t, "builds a module and runs go generate")
	model := readmeBlocks(t, string(readme), "Define a type", "go")[0]
	install := readmeBlocks(t, string(readme), "Define a type", "sh")[0]
	use := readmeBlocks(t, string(readme), "Use the repository", "go")
	if len(use) != 2 {
		t.Fatalf("README's Use the repository has %d go blocks; this test runs 2 (update it)", len(use))
	}
	const localEndpoint = `aws.String("http://localhost:8000")`
	if !strings.Contains(use[0], localEndpoint) {
		t.Fatalf("README client snippet no longer names %s", localEndpoint)
	}

	suffix := make([]byte, 4)
	_, _ = rand.Read(suffix)
	itemTable, keyTable := "patients-"+hex.EncodeToString(suffix), "dynaseal-keys-"+hex.EncodeToString(suffix)
	if !strings.Contains(model, "-table patients") || !strings.Contains(use[1], `"dynaseal-keys"`) {
		t.Fatal("README table names changed; update this test")
	}
	model = strings.Replace(model, "-table patients", "-table "+itemTable, 1)

	endpoint := itest.Endpoint(t)
	master := make([]byte, 32)
	_, _ = rand.Read(master)
	// The module starts empty but for a replace directive, which stands
	// for the published module; no go.sum. The proxy and checksum database
	// are off so the go command takes every module from the local module
	// cache (the replaced module has no published version to look up);
	// go mod download fills the cache with this repository's modules first
	// (instant when they are there, as after any build of ./...).
	download := exec.Command("go", "mod", "download")
	download.Dir = repoRoot(t)
	download.Env = append(os.Environ(), "GOWORK=off")
	if out, err := download.CombinedOutput(); err != nil {
		t.Fatalf("go mod download: %v\n%s", err, out)
	}
	dir, write, run := newModule(t, "DYNASEAL_MASTER_KEY="+hex.EncodeToString(master),
		"AWS_EC2_METADATA_DISABLED=true", "GOFLAGS=", "GOPROXY=off", "GOSUMDB=off")
	write("go.mod", "module example.com/e2e\n\ngo 1.25.0\n\nreplace github.com/dynaseal/dynaseal => "+repoRoot(t)+"\n")
	if err := os.Remove(filepath.Join(dir, "go.sum")); err != nil {
		t.Fatal(err)
	}
	write("patients/patient.go", model)
	for _, l := range strings.Split(install, "\n") {
		args := strings.Fields(shComment.ReplaceAllString(l, ""))
		if len(args) == 0 {
			continue
		}
		if args[0] != "go" {
			t.Fatalf("README install step %q is not a go command; update this test", l)
		}
		if args[1] == "get" {
			for i, a := range args[2:] {
				if strings.HasPrefix(a, "github.com/dynaseal/dynaseal") {
					args[2+i] = a + "@v0.0.0" // the replaced version, as @latest would be published
				}
			}
		}
		if out, err := run(dir, args[1:]...); err != nil {
			t.Fatalf("README step %q: %v\n%s", strings.Join(args, " "), err, out)
		}
	}
	if _, err := os.Stat(filepath.Join(dir, "patients", "patient_dynaseal.go")); err != nil {
		t.Fatalf("the README steps generated nothing: %v", err)
	}

	body := strings.Replace(use[0], localEndpoint, fmt.Sprintf("aws.String(%q)", endpoint), 1) + "\n" +
		strings.ReplaceAll(use[1], `"dynaseal-keys"`, fmt.Sprintf("%q", keyTable))
	write("main.go", readmeMainHead+checkErrors(body)+readmeMainTail)
	if out, err := run(dir, "mod", "tidy"); err != nil {
		t.Fatalf("go mod tidy (README): %v\n%s", err, out)
	}
	if out, err := run(dir, "vet", "."); err != nil {
		t.Fatalf("go vet of the README program: %v\n%s", err, out)
	}
	out, err := run(dir, "run", ".")
	if err != nil || !strings.Contains(out, "README-OK") {
		t.Fatalf("the README flow failed on the first try: %v\n%s", err, out)
	}
	if !strings.Contains(out, "p-1 gold") {
		t.Fatalf("the README query printed no updated item:\n%s", out)
	}
}

// shComment matches a shell comment.
var shComment = regexp.MustCompile(`(^|\s)#.*$`)

// readmeSnippetHead is the frame every README fragment that is not a whole
// file is compiled in: the packages README snippets use, and the names they
// take from their surroundings (a context, an AWS configuration, a client,
// the request's tenant).
const readmeSnippetHead = `package main

import (
	"context"
	"fmt"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/kms"
	"github.com/aws/aws-sdk-go-v2/service/sts"
	"github.com/dynaseal/dynaseal/examples/patients"
	"github.com/dynaseal/dynaseal/schema"
	"github.com/dynaseal/dynaseal/table"
	"github.com/dynaseal/dynaseal/tenantkeys"
)

var (
	_ = fmt.Println
	_ = time.Minute
	_ = aws.String
	_ = config.LoadDefaultConfig
	_ = credentials.NewStaticCredentialsProvider
	_ = dynamodb.NewFromConfig
	_ = kms.NewFromConfig
	_ = sts.NewFromConfig
	_ = patients.PatientTable
	_ = schema.For[patients.Patient]
	_ = table.ErrNotFound
	_ = tenantkeys.NewCache
)

var (
	ctx           = context.Background()
	cfg           aws.Config
	db            *dynamodb.Client
	tenantFromJWT = "t"
)

func main() { _ = run() }

func run() error {
	var err error
`

// topLevelDecl matches a top-level short variable declaration's names.
var topLevelDecl = regexp.MustCompile(`^([A-Za-z_][\w]*(?:, *[A-Za-z_][\w]*)*) :=`)

// readmeSnippetFile wraps a README fragment into a compilable file: its
// statements in run's body, then a use of every name it declares (a
// fragment may declare what the reader uses later).
func readmeSnippetFile(body string) string {
	var uses []string
	depth := 0
	for _, l := range strings.Split(body, "\n") {
		code := lineComment.ReplaceAllString(l, "")
		if m := topLevelDecl.FindStringSubmatch(code); depth == 0 && m != nil {
			for _, n := range strings.Split(m[1], ",") {
				if n = strings.TrimSpace(n); n != "_" {
					uses = append(uses, "_ = "+n)
				}
			}
		}
		depth += strings.Count(code, "{") + strings.Count(code, "(") - strings.Count(code, "}") - strings.Count(code, ")")
	}
	return readmeSnippetHead + body + "\n" + strings.Join(uses, "\n") + "\n_ = err\nreturn nil\n}\n"
}

// readmeFence matches a ```go fence, possibly indented in a list.
var readmeFence = regexp.MustCompile("^( *)```go$")

// TestReadmeSnippetsCompile type-checks every ```go block of README.md in
// a scratch module that requires this repository: a block that is a whole
// file as it is, a fragment inside a function that supplies the imports and
// surrounding names every snippet may rely on (readmeSnippetHead). An
// identifier a snippet uses without defining, a wrong signature or a
// renamed API fails here.
func TestReadmeSnippetsCompile(t *testing.T) {
	readme := readReadme(t, "type-checks a scratch module")
	dir, write, run := newModule(t)
	lines := strings.Split(string(readme), "\n")
	n := 0
	for i := 0; i < len(lines); i++ {
		m := readmeFence.FindStringSubmatch(lines[i])
		if m == nil {
			continue
		}
		start := i + 1
		var block []string
		for i++; i < len(lines) && strings.TrimSpace(lines[i]) != "```"; i++ {
			block = append(block, strings.TrimPrefix(lines[i], m[1]))
		}
		if i == len(lines) {
			t.Fatalf("README.md:%d: unterminated go block", start)
		}
		n++
		body := strings.Join(block, "\n") + "\n"
		file := fmt.Sprintf("snippet%d/readme_line%d.go", n, start)
		if strings.HasPrefix(body, "package ") {
			write(file, body)
		} else {
			write(file, readmeSnippetFile(body))
		}
	}
	if n < 4 {
		t.Fatalf("found %d go blocks in README.md, expected at least 4", n)
	}
	if out, err := run(dir, "vet", "./..."); err != nil {
		t.Fatalf("a README go block does not compile (file names give its README line):\n%v\n%s", err, out)
	}
}
