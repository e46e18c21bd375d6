package broker

import (
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/twmb/franz-go/pkg/kfake"
)

// Files in the data directory. The lock is held (flock) by the one process
// serving the embedded broker; the address file says where it listens. The
// kernel drops the lock when that process dies, however it dies, so a stale
// address file is never trusted on its own.
const (
	lockFile  = "broker.lock"
	addrFile  = "broker.addr"
	kafkaDir  = "kafka"
	reuseWait = 5 * time.Second
)

// Embedded is a kfake cluster served by this process, persisted in DataDir.
type Embedded struct {
	cluster *kfake.Cluster
	lock    *os.File
	addr    string
	dir     string
}

// errLocked means another process serves the embedded broker for the directory.
var errLocked = errors.New("embedded broker is served by another process")

// startEmbedded starts kfake in dataDir, or returns errLocked when another
// process already serves it. maxMessageBytes sets message.max.bytes.
func startEmbedded(dataDir string, port int, maxMessageBytes int) (*Embedded, error) {
	if err := os.MkdirAll(dataDir, 0o755); err != nil {
		return nil, fmt.Errorf("embedded broker: create data dir: %w", err)
	}
	lock, err := os.OpenFile(filepath.Join(dataDir, lockFile), os.O_CREATE|os.O_RDWR, 0o644)
	if err != nil {
		return nil, fmt.Errorf("embedded broker: open lock: %w", err)
	}
	if err := syscall.Flock(int(lock.Fd()), syscall.LOCK_EX|syscall.LOCK_NB); err != nil {
		lock.Close()
		if errors.Is(err, syscall.EWOULDBLOCK) {
			return nil, errLocked
		}
		return nil, fmt.Errorf("embedded broker: lock %s: %w", dataDir, err)
	}
	if port == 0 {
		port = lastPort(dataDir)
	}
	c, err := newCluster(dataDir, port, maxMessageBytes)
	if err != nil && port != 0 {
		c, err = newCluster(dataDir, 0, maxMessageBytes) // last port taken: any port will do
	}
	if err != nil {
		lock.Close()
		return nil, fmt.Errorf("embedded broker: start kfake in %s: %w", dataDir, err)
	}
	e := &Embedded{cluster: c, lock: lock, addr: c.ListenAddrs()[0], dir: dataDir}
	// Other processes reach this broker through its address file (they find
	// the data directory locked): a broker they cannot find is an error.
	if err := writeAddr(dataDir, e.addr); err != nil {
		e.Close()
		return nil, fmt.Errorf("embedded broker: %w", err)
	}
	return e, nil
}

// writeAddr writes the address atomically so a reader never sees half of it.
func writeAddr(dataDir, addr string) error {
	tmp := filepath.Join(dataDir, addrFile+".tmp")
	if err := os.WriteFile(tmp, []byte(addr+"\n"), 0o644); err != nil {
		return fmt.Errorf("write address file: %w", err)
	}
	if err := os.Rename(tmp, filepath.Join(dataDir, addrFile)); err != nil {
		return fmt.Errorf("write address file: %w", err)
	}
	return nil
}

func newCluster(dataDir string, port, maxMessageBytes int) (*kfake.Cluster, error) {
	return kfake.NewCluster(
		kfake.NumBrokers(1),
		kfake.Ports(port),
		kfake.DataDir(filepath.Join(dataDir, kafkaDir)),
		kfake.BrokerConfigs(map[string]string{
			"message.max.bytes": strconv.Itoa(maxMessageBytes),
		}),
	)
}

func lastPort(dataDir string) int {
	b, err := os.ReadFile(filepath.Join(dataDir, addrFile))
	if err != nil {
		return 0
	}
	_, p, err := net.SplitHostPort(strings.TrimSpace(string(b)))
	if err != nil {
		return 0
	}
	n, _ := strconv.Atoi(p)
	return n
}

// Addr is the host:port the broker listens on (127.0.0.1).
func (e *Embedded) Addr() string { return e.addr }

// Close stops the broker, flushes its log to disk and releases the lock. The
// address file stays so a restart can listen on the same port again.
func (e *Embedded) Close() {
	e.cluster.Close()
	e.lock.Close()
}

// reuseEmbedded waits for the address of the broker another process serves.
func reuseEmbedded(ctx context.Context, dataDir string) (string, error) {
	deadline := time.Now().Add(reuseWait)
	for {
		b, err := os.ReadFile(filepath.Join(dataDir, addrFile))
		if addr := strings.TrimSpace(string(b)); err == nil && addr != "" {
			d := net.Dialer{Timeout: time.Second}
			if conn, derr := d.DialContext(ctx, "tcp", addr); derr == nil {
				conn.Close()
				return addr, nil
			}
		}
		if time.Now().After(deadline) {
			return "", fmt.Errorf("embedded broker in %s is locked by another process but does not answer at its recorded address", dataDir)
		}
		select {
		case <-ctx.Done():
			return "", ctx.Err()
		case <-time.After(50 * time.Millisecond):
		}
	}
}
