package config

import (
	"errors"
	"fmt"
)

// Sentinel errors; [Load] and [Config.Validate] wrap them, test with errors.Is.
var (
	// ErrNoConfig: neither a file nor dev mode was asked for.
	ErrNoConfig = errors.New("no configuration: give --config FILE or --dev")
	// ErrUnknownKey: a key in the file, or a flag, that the schema does not have.
	ErrUnknownKey = errors.New("unknown key")
	// ErrUnknownEnv: an ACTAS_* environment variable that names no key.
	ErrUnknownEnv = errors.New("names no configuration key")
	// ErrSyntax: the file is not valid YAML.
	ErrSyntax = errors.New("malformed YAML")
	// ErrInvalid: a value breaks a validation rule.
	ErrInvalid = errors.New("invalid value")
)

// FieldError is one problem with one key. Its text starts with the key
// ("storage.redis.url: must be a redis:// or rediss:// URL"); for environment variables the key is
// the variable's name.
type FieldError struct {
	Key string
	Err error
}

func (e *FieldError) Error() string { return e.Key + ": " + e.Err.Error() }

// Unwrap returns the underlying error.
func (e *FieldError) Unwrap() error { return e.Err }

func fieldErr(key string, err error) *FieldError { return &FieldError{Key: key, Err: err} }

// invalidErr is a validation failure: it matches ErrInvalid but prints only the message.
type invalidErr struct{ msg string }

func (e invalidErr) Error() string        { return e.msg }
func (e invalidErr) Is(target error) bool { return target == ErrInvalid }

func invalidf(key, format string, args ...any) *FieldError {
	return fieldErr(key, invalidErr{msg: fmt.Sprintf(format, args...)})
}

// FieldErrors returns every FieldError in err (which may be an errors.Join tree), in order.
func FieldErrors(err error) []*FieldError {
	var out []*FieldError
	var walk func(error)
	walk = func(e error) {
		if e == nil {
			return
		}
		if fe, ok := e.(*FieldError); ok {
			out = append(out, fe)
			return
		}
		switch u := e.(type) {
		case interface{ Unwrap() []error }:
			for _, x := range u.Unwrap() {
				walk(x)
			}
		case interface{ Unwrap() error }:
			walk(u.Unwrap())
		}
	}
	walk(err)
	return out
}
