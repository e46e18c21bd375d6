package ingest

import "syscall"

// syscallNoFollow makes an open fail on a symbolic link that replaced a
// listed file between the listing and the open.
const syscallNoFollow = syscall.O_NOFOLLOW | syscall.O_NONBLOCK
