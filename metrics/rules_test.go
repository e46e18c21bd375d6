package metrics_test

import (
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"runtime"
	"strings"
	"testing"
)

// promtool runs promtool from Debian's prometheus package on deploy/.
func promtool(t *testing.T, args ...string) string {
	t.Helper()
	if _, err := exec.LookPath("promtool"); err != nil {
		t.Fatal("promtool not found: run ./scripts/setup.sh (Debian package prometheus)")
	}
	_, file, _, _ := runtime.Caller(0)
	cmd := exec.Command("promtool", args...)
	cmd.Dir = filepath.Join(filepath.Dir(file), "..", "deploy")
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("promtool %s: %v\n%s", strings.Join(args, " "), err, out)
	}
	return string(out)
}

// The alert rules parse, and each alert fires on the series of its test in
// deploy/alerts_test.yml and not on the series beside it.
func TestAlertRules(t *testing.T) {
	if out := promtool(t, "check", "rules", "alerts.yml"); !strings.Contains(out, "SUCCESS: 6 rules found") {
		t.Fatalf("promtool check rules: %s", out)
	}
	promtool(t, "test", "rules", "alerts_test.yml")
	// Every alert has a test.
	_, file, _, _ := runtime.Caller(0)
	rules, _ := os.ReadFile(filepath.Join(filepath.Dir(file), "..", "deploy", "alerts.yml"))
	tests, _ := os.ReadFile(filepath.Join(filepath.Dir(file), "..", "deploy", "alerts_test.yml"))
	for _, m := range regexp.MustCompile(`(?m)^\s*- alert: (\w+)`).FindAllStringSubmatch(string(rules), -1) {
		if !strings.Contains(string(tests), "alertname: "+m[1]+"\n") {
			t.Errorf("alert %s has no test in deploy/alerts_test.yml", m[1])
		}
	}
}
