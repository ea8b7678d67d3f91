//go:build !unix

package audit

import "os"

// lockFile is a no-op where flock does not exist.
func lockFile(*os.File) error { return nil }

// lockShared is a no-op where flock does not exist.
func lockShared(*os.File) error { return nil }
