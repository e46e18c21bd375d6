// Package chtest starts a real clickhouse-server for tests and benchmarks:
// loopback only, its own config, ports and data under one directory.
package chtest

import (
	"context"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"testing"
	"time"

	"github.com/cropstream/cropstream/sinks/clickhouse"
)

// Server is a running clickhouse-server.
type Server struct {
	Dir  string
	Port int // native protocol
	HTTP int
	t    testing.TB
	cmd  *exec.Cmd
}

// PID is the server's process id (0 when stopped).
func (s *Server) PID() int {
	if s.cmd == nil || s.cmd.Process == nil {
		return 0
	}
	return s.cmd.Process.Pid
}

// Addr is the native protocol's host:port.
func (s *Server) Addr() string { return "127.0.0.1:" + strconv.Itoa(s.Port) }

const config = `<yandex>
  <logger><level>warning</level><log>%[1]s/log/server.log</log><errorlog>%[1]s/log/error.log</errorlog><console>0</console></logger>
  <listen_host>127.0.0.1</listen_host>
  <tcp_port>%[2]d</tcp_port>
  <http_port>%[3]d</http_port>
  <path>%[1]s/data/</path>
  <tmp_path>%[1]s/tmp/</tmp_path>
  <user_files_path>%[1]s/user_files/</user_files_path>
  <format_schema_path>%[1]s/format_schemas/</format_schema_path>
  <users_config>users.xml</users_config>
  <default_profile>default</default_profile>
  <default_database>default</default_database>
  <mark_cache_size>268435456</mark_cache_size>
  <max_concurrent_queries>100</max_concurrent_queries>
</yandex>
`

// users: "default" with no password, "analyst" with password "s3cret" (for
// the wrong-password test).
const users = `<yandex>
  <profiles><default><max_memory_usage>4000000000</max_memory_usage></default></profiles>
  <users>
    <default><password></password><networks><ip>127.0.0.1</ip></networks><profile>default</profile><quota>default</quota></default>
    <analyst><password>s3cret</password><networks><ip>127.0.0.1</ip></networks><profile>default</profile><quota>default</quota></analyst>
  </users>
  <quotas><default><interval><duration>3600</duration><queries>0</queries><errors>0</errors><result_rows>0</result_rows><read_rows>0</read_rows><execution_time>0</execution_time></interval></default></quotas>
</yandex>
`

// Start starts a server and stops it when the test ends. It fails the test
// when clickhouse-server is not installed (./scripts/setup.sh installs it).
func Start(t testing.TB) *Server {
	t.Helper()
	s, err := Launch(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	s.t = t
	t.Cleanup(s.Stop)
	return s
}

// Launch starts a server whose config, data and logs are under dir, on
// free ports, outside a test (`cropstream bench` measures the sink on one);
// the caller stops it.
func Launch(dir string) (*Server, error) {
	if _, err := exec.LookPath("clickhouse-server"); err != nil {
		return nil, fmt.Errorf("clickhouse-server is not installed (run ./scripts/setup.sh): %w", err)
	}
	s := &Server{Dir: dir}
	var err error
	if s.Port, err = freePort(); err != nil {
		return nil, err
	}
	if s.HTTP, err = freePort(); err != nil {
		return nil, err
	}
	if err := os.MkdirAll(filepath.Join(dir, "log"), 0o755); err != nil {
		return nil, err
	}
	if err := os.WriteFile(filepath.Join(dir, "config.xml"), fmt.Appendf(nil, config, dir, s.Port, s.HTTP), 0o644); err != nil {
		return nil, err
	}
	if err := os.WriteFile(filepath.Join(dir, "users.xml"), []byte(users), 0o644); err != nil {
		return nil, err
	}
	return s, s.start()
}

// Restart starts the server (again) on the same ports and data; a server
// of Start only.
func (s *Server) Restart() {
	s.t.Helper()
	if err := s.start(); err != nil {
		s.t.Fatal(err)
	}
}

func (s *Server) start() error {
	cmd := exec.Command("clickhouse-server", "--config-file="+filepath.Join(s.Dir, "config.xml"))
	cmd.Dir = s.Dir
	out, err := os.Create(filepath.Join(s.Dir, "log", "stdout.log"))
	if err != nil {
		return err
	}
	defer out.Close()
	cmd.Stdout, cmd.Stderr = out, out
	if err := cmd.Start(); err != nil {
		return fmt.Errorf("start clickhouse-server: %w", err)
	}
	s.cmd = cmd
	deadline := time.Now().Add(30 * time.Second)
	for time.Now().Before(deadline) {
		c, err := net.DialTimeout("tcp", s.Addr(), 200*time.Millisecond)
		if err == nil {
			c.Close()
			return nil
		}
		time.Sleep(50 * time.Millisecond)
	}
	s.Stop()
	log, _ := os.ReadFile(filepath.Join(s.Dir, "log", "error.log"))
	return fmt.Errorf("clickhouse-server did not listen on %s within 30s:\n%s", s.Addr(), log)
}

// Open connects a store to database db on the server ("" for the default)
// for the rest of the test.
func (s *Server) Open(t testing.TB, db string) *clickhouse.Store {
	t.Helper()
	st, err := clickhouse.Open(context.Background(), clickhouse.Config{Addr: []string{s.Addr()}, Database: db})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	return st
}

// Migrated is database db, migrated, on a server of its own for the test.
func Migrated(t testing.TB, db string) *clickhouse.Store {
	t.Helper()
	st := Start(t).Open(t, db)
	if _, err := st.Migrate(context.Background()); err != nil {
		t.Fatal(err)
	}
	return st
}

// Stop stops the server (SIGKILL: ClickHouse keeps only committed parts, so
// this is also the crash case).
func (s *Server) Stop() {
	if s.cmd == nil || s.cmd.Process == nil {
		return
	}
	_ = s.cmd.Process.Kill()
	_ = s.cmd.Wait()
	s.cmd = nil
}

func freePort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}
