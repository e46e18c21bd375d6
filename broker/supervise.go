package broker

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"net"
	"strings"
	"syscall"
	"time"

	"github.com/IBM/sarama"
	"github.com/twmb/franz-go/pkg/kerr"
)

// Backoff bounds the waits between a stage's attempts to rejoin.
type Backoff struct {
	// First wait after a failure. Default 500 ms.
	First time.Duration
	// Max wait, reached by doubling. Default 30 s.
	Max time.Duration
	// Reset: a run that lasted this long starts the waits from First again.
	// Default 1 minute.
	Reset time.Duration
}

func (b Backoff) withDefaults() Backoff {
	if b.First <= 0 {
		b.First = 500 * time.Millisecond
	}
	if b.Max <= 0 {
		b.Max = 30 * time.Second
	}
	if b.Reset <= 0 {
		b.Reset = time.Minute
	}
	return b
}

// Supervise calls run until ctx is cancelled, running it again after a
// failure that losing the brokers explains (Retriable), with growing waits,
// and returning any other failure. A stage that lost its group through a
// broker restart (ILLEGAL_GENERATION, connection refused, out of brokers)
// thus rejoins with a fresh client and resumes from its committed offsets;
// nothing is lost, and replays are the stages' business as after any crash.
// run must return when ctx is cancelled; Supervise then returns nil.
func Supervise(ctx context.Context, name string, b Backoff, run func(context.Context) error) error {
	b = b.withDefaults()
	wait := b.First
	for {
		start := time.Now()
		err := run(ctx)
		if ctx.Err() != nil {
			return nil
		}
		if err == nil || !Retriable(err) {
			return err
		}
		if time.Since(start) >= b.Reset {
			wait = b.First
		}
		slog.Warn("stage lost the broker; rejoining", "stage", name, "in", wait, "err", err)
		select {
		case <-ctx.Done():
			return nil
		case <-time.After(wait):
		}
		wait = min(2*wait, b.Max)
	}
}

// Retriable reports whether err is one a client gets when brokers go away
// or the group moves on without it: network failures, brokers unreachable,
// group membership lost, leadership moving. Anything else (a bad config, a
// state that does not decode, authorisation) is not.
func Retriable(err error) bool {
	var (
		ke  sarama.KError
		ne  net.Error
		fke *kerr.Error
	)
	switch {
	case err == nil:
		return false
	case errors.As(err, &fke):
		return fke.Retriable || errors.Is(err, kerr.IllegalGeneration) || errors.Is(err, kerr.UnknownMemberID) ||
			errors.Is(err, kerr.RebalanceInProgress) || errors.Is(err, kerr.NotCoordinator) || errors.Is(err, kerr.CoordinatorNotAvailable) ||
			errors.Is(err, kerr.FencedInstanceID)
	case errors.As(err, &ke):
		switch ke {
		case sarama.ErrTopicAuthorizationFailed, sarama.ErrGroupAuthorizationFailed, sarama.ErrClusterAuthorizationFailed,
			sarama.ErrSASLAuthenticationFailed, sarama.ErrUnsupportedVersion, sarama.ErrInvalidConfig, sarama.ErrMessageSizeTooLarge,
			sarama.ErrInvalidReplicationFactor, sarama.ErrPolicyViolation:
			return false
		}
		return true
	case errors.Is(err, sarama.ErrOutOfBrokers), errors.Is(err, sarama.ErrNotConnected), errors.Is(err, sarama.ErrClosedClient),
		errors.Is(err, sarama.ErrShuttingDown), errors.Is(err, sarama.ErrControllerNotAvailable):
		return true
	case errors.As(err, &ne), errors.Is(err, syscall.ECONNREFUSED), errors.Is(err, syscall.ECONNRESET), errors.Is(err, syscall.EPIPE),
		errors.Is(err, io.EOF), errors.Is(err, io.ErrUnexpectedEOF):
		return true
	}
	// goka wraps some client errors with %v while it sets up a partition
	// ("Error getting oldest offset for topic/partition ...: kafka: client
	// has run out of available brokers to talk to"), which keeps only
	// their text: a broker restart seen there must rejoin too.
	msg := err.Error()
	return strings.Contains(msg, sarama.ErrOutOfBrokers.Error()) || strings.Contains(msg, sarama.ErrNotConnected.Error())
}
