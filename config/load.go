package config

import (
	"bytes"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"reflect"
	"sort"
	"strings"
	"time"

	"github.com/go-viper/mapstructure/v2"
	"github.com/spf13/viper"
	"go.yaml.in/yaml/v3"
)

// LoadOptions says where [Load] reads the configuration from.
type LoadOptions struct {
	// File is the YAML config file (--config). Relative paths inside it are relative to its
	// directory.
	File string
	// Dev layers the dev defaults ([Dev]) under the file, and relaxes validation: no signing keys
	// or global secret are needed (the server generates them) and the issuer may be plain http.
	Dev bool
	// Env is the environment as KEY=VALUE lines; nil means os.Environ().
	Env []string
	// Flags maps dotted keys to values (e.g. "server.public.addr" for --addr); they win over
	// everything else. Only scalar keys may be set.
	Flags map[string]string
}

// envTestPrefix marks variables of the test helpers (ACTAS_TEST_REDIS_URL, …), which are not
// configuration keys and are ignored.
const envTestPrefix = "ACTAS_TEST_"

// Load builds the configuration from defaults, dev defaults (when opts.Dev), the file, the
// environment and the flags, in that order of precedence; reads every *_file secret; makes every
// path absolute; derives the issuer from server.public.addr when it is empty; and validates the
// result (see [Config.Validate]).
//
// On failure it returns nil and every problem found, joined with errors.Join, one per line, each
// starting with the key, the variable or the file it is about. Neither the errors nor anything
// else here contains a secret value.
func Load(opts LoadOptions) (*Config, error) {
	if opts.File == "" && !opts.Dev {
		return nil, ErrNoConfig
	}
	env := opts.Env
	if env == nil {
		env = os.Environ()
	}

	base := Default()
	if opts.Dev {
		base = Dev()
		base.Issuer = "" // derived from server.public.addr below, so that --addr moves it
	}
	v := viper.New()
	for key, val := range defaultSettings(base) {
		v.SetDefault(key, val)
	}

	baseDir, err := filepath.Abs(".")
	if err != nil {
		return nil, fmt.Errorf("config: working directory: %w", err)
	}
	if opts.File != "" {
		if err := readFile(v, opts.File); err != nil {
			return nil, err
		}
		abs, err := filepath.Abs(opts.File)
		if err != nil {
			return nil, fmt.Errorf("config file %s: %w", opts.File, err)
		}
		baseDir = filepath.Dir(abs)
	}

	fromCLI, err := applyOverrides(v, env, opts.Flags)
	if err != nil {
		return nil, err
	}
	for section := range elementDefaults {
		if list := v.Get(section); list != nil {
			v.Set(section, withElementDefaults(section, list))
		}
	}

	c := &Config{}
	if err := v.UnmarshalExact(c, strictDecoding); err != nil {
		return nil, decodeErrors(err)
	}
	c.Dev = opts.Dev
	if c.Issuer == "" {
		c.Issuer = "http://" + c.Server.Public.Addr
	}

	fileErrs, failed := c.readFiles(baseDir, fromCLI)
	if err := errors.Join(append(fileErrs, c.validate(failed)...)...); err != nil {
		return nil, err
	}
	return c, nil
}

// readFile parses the YAML file, reports malformed YAML with its line and every unknown key, and
// hands the file to viper.
func readFile(v *viper.Viper, path string) error {
	data, err := os.ReadFile(path)
	if err != nil {
		var pe *fs.PathError
		if errors.As(err, &pe) {
			err = pe.Err
		}
		return fmt.Errorf("config file %s: %w", path, err)
	}
	var doc yaml.Node
	if err := yaml.Unmarshal(data, &doc); err != nil {
		return fmt.Errorf("config file %s: %w: %s", path, ErrSyntax, yamlMessage(err))
	}
	if errs := unknownKeys(&doc, configType, "", path); len(errs) > 0 {
		return errors.Join(errs...)
	}
	v.SetConfigType("yaml")
	if err := v.ReadConfig(bytes.NewReader(data)); err != nil {
		return fmt.Errorf("config file %s: %w: %s", path, ErrSyntax, yamlMessage(err))
	}
	return nil
}

// yamlMessage turns a YAML parser error into one line: "line 2: mapping key "issuer" already
// defined at line 1".
func yamlMessage(err error) string {
	msg := err.Error()
	for _, prefix := range []string{"While parsing config: ", "yaml: ", "unmarshal errors:"} {
		msg = strings.TrimPrefix(strings.TrimSpace(msg), prefix)
	}
	return strings.Join(strings.Fields(msg), " ")
}

// applyOverrides sets the ACTAS_* environment variables, then the flags, on v (so that flags win)
// and returns the keys they set.
func applyOverrides(v *viper.Viper, env []string, flags map[string]string) (map[string]bool, error) {
	byEnv := map[string]scalarKey{}
	byKey := map[string]scalarKey{}
	for _, k := range scalarKeys(configType, "") {
		byEnv[envName(k.key)] = k
		byKey[k.key] = k
	}
	set := map[string]bool{}
	var errs []error
	for _, kv := range env {
		name, val, _ := strings.Cut(kv, "=")
		if !strings.HasPrefix(name, "ACTAS_") || strings.HasPrefix(name, envTestPrefix) {
			continue
		}
		k, ok := byEnv[name]
		if !ok {
			errs = append(errs, fieldErr(name, ErrUnknownEnv))
			continue
		}
		if val == "" {
			continue
		}
		x, err := parseScalar(k.typ, val)
		if err != nil {
			errs = append(errs, fieldErr(name, fmt.Errorf("%w: %w", ErrInvalid, err)))
			continue
		}
		v.Set(k.key, x)
		set[k.key] = true
	}
	names := make([]string, 0, len(flags))
	for name := range flags {
		names = append(names, name)
	}
	sort.Strings(names)
	for _, name := range names {
		k, ok := byKey[name]
		if !ok {
			errs = append(errs, fieldErr(name, fmt.Errorf("%w (flag)", ErrUnknownKey)))
			continue
		}
		x, err := parseScalar(k.typ, flags[name])
		if err != nil {
			errs = append(errs, fieldErr(name, fmt.Errorf("%w: %w (flag)", ErrInvalid, err)))
			continue
		}
		v.Set(k.key, x)
		set[k.key] = true
	}
	return set, errors.Join(errs...)
}

// strictDecoding turns off viper's weak typing ("yes" is not a bool, 1 is not a string) and its
// comma splitting of strings into lists, and accepts durations only as Go duration strings.
func strictDecoding(dc *mapstructure.DecoderConfig) {
	dc.WeaklyTypedInput = false
	dc.DecodeHook = durationHook
}

// durationHook decodes "10m"-style strings into time.Duration and refuses bare numbers other than
// 0, which YAML would otherwise turn into nanoseconds.
func durationHook(from, to reflect.Type, data any) (any, error) {
	if to != durationType || from == durationType {
		return data, nil
	}
	if s, ok := data.(string); ok {
		d, err := time.ParseDuration(s)
		if err != nil {
			return nil, fmt.Errorf("%q is not a Go duration (such as \"10m\" or \"500ms\")", s)
		}
		return d, nil
	}
	switch reflect.ValueOf(data).Kind() {
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64,
		reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64,
		reflect.Float32, reflect.Float64:
		if reflect.ValueOf(data).IsZero() {
			return time.Duration(0), nil
		}
		return nil, errors.New("a duration needs a unit, such as \"10m\" or \"500ms\"")
	}
	return data, nil
}

// decodeErrors turns mapstructure's errors into one FieldError per key. It never repeats the
// offending value, which could be a secret in the wrong place.
func decodeErrors(err error) error {
	var out []error
	var walk func(error)
	walk = func(e error) {
		if j, ok := e.(interface{ Unwrap() []error }); ok {
			for _, x := range j.Unwrap() {
				walk(x)
			}
			return
		}
		de, ok := e.(*mapstructure.DecodeError)
		if !ok {
			if w, isWrap := e.(interface{ Unwrap() error }); isWrap && containsDecodeError(w.Unwrap()) {
				walk(w.Unwrap()) // mapstructure's "decoding failed due to …" wrapper
				return
			}
			out = append(out, fmt.Errorf("config: %w", e))
			return
		}
		if inner := de.Unwrap(); containsDecodeError(inner) {
			walk(inner)
			return
		}
		out = append(out, fieldErr(de.Name(), fmt.Errorf("%w: %s", ErrInvalid, describe(de.Unwrap()))))
	}
	walk(err)
	return errors.Join(out...)
}

func containsDecodeError(err error) bool {
	var de *mapstructure.DecodeError
	return errors.As(err, &de)
}

func describe(err error) string {
	var ut *mapstructure.UnconvertibleTypeError
	if errors.As(err, &ut) {
		return fmt.Sprintf("expected %s, got %s", kindName(ut.Expected.Type()), kindName(reflect.TypeOf(ut.Value)))
	}
	var pe *mapstructure.ParseError
	if errors.As(err, &pe) {
		return fmt.Sprintf("expected %s", kindName(pe.Expected.Type()))
	}
	if err == nil {
		return "cannot decode"
	}
	msg := err.Error()
	if strings.HasPrefix(msg, "has invalid keys: ") {
		return strings.Replace(msg, "has invalid keys", ErrUnknownKey.Error()+"s", 1)
	}
	return msg
}

// kindName names a Go type the way the YAML author sees it.
func kindName(t reflect.Type) string {
	if t == nil {
		return "nothing"
	}
	if t == durationType {
		return "a duration"
	}
	switch t.Kind() {
	case reflect.String:
		return "a string"
	case reflect.Bool:
		return "a boolean"
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64,
		reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64:
		return "an integer"
	case reflect.Float32, reflect.Float64:
		return "a number"
	case reflect.Slice, reflect.Array:
		return "a list"
	case reflect.Map, reflect.Struct:
		return "a mapping"
	}
	return t.String()
}
