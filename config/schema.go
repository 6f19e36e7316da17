package config

import (
	"fmt"
	"reflect"
	"strconv"
	"strings"
	"time"

	"go.yaml.in/yaml/v3"
)

// The schema is the Config type itself: its mapstructure tags are the keys. These helpers walk it
// by reflection so that the defaults, the environment map and the unknown-key check can never
// disagree with the structs.

var (
	durationType = reflect.TypeFor[time.Duration]()
	configType   = reflect.TypeFor[Config]()
)

// scalarKey is one key that environment variables and flags may set.
type scalarKey struct {
	key string       // dotted path, e.g. "storage.redis.key_prefix"
	typ reflect.Type // string, bool, int, int64 or time.Duration
}

// tagName returns the schema name of a struct field, or "" when the field is not part of the
// schema.
func tagName(f reflect.StructField) string {
	if !f.IsExported() {
		return ""
	}
	name, _, _ := strings.Cut(f.Tag.Get("mapstructure"), ",")
	if name == "-" {
		return ""
	}
	return name
}

// fieldByTag returns the field of struct type t whose schema name is name.
func fieldByTag(t reflect.Type, name string) (reflect.StructField, bool) {
	for i := range t.NumField() {
		f := t.Field(i)
		if tagName(f) == name && name != "" {
			return f, true
		}
	}
	return reflect.StructField{}, false
}

// scalarKeys lists every scalar key under struct type t (lists and list elements excluded), in
// declaration order.
func scalarKeys(t reflect.Type, prefix string) []scalarKey {
	var out []scalarKey
	for i := range t.NumField() {
		f := t.Field(i)
		name := tagName(f)
		if name == "" {
			continue
		}
		key := prefix + name
		switch {
		case f.Type.Kind() == reflect.Struct:
			out = append(out, scalarKeys(f.Type, key+".")...)
		case f.Type.Kind() == reflect.Slice || f.Type.Kind() == reflect.Map:
			// Lists come from the file only.
		default:
			out = append(out, scalarKey{key: key, typ: f.Type})
		}
	}
	return out
}

// envName is the environment variable that overrides key.
func envName(key string) string {
	return "ACTAS_" + strings.ToUpper(strings.ReplaceAll(key, ".", "_"))
}

// parseScalar converts the text of an environment variable or flag to the Go type of its key.
// Its errors never quote the value, which may be a secret.
func parseScalar(typ reflect.Type, raw string) (any, error) {
	switch {
	case typ == durationType:
		d, err := time.ParseDuration(raw)
		if err != nil {
			return nil, fmt.Errorf("not a Go duration (such as \"10m\" or \"500ms\")")
		}
		return d, nil
	case typ.Kind() == reflect.String:
		return raw, nil
	case typ.Kind() == reflect.Bool:
		b, err := strconv.ParseBool(raw)
		if err != nil {
			return nil, fmt.Errorf("not a boolean (true or false)")
		}
		return b, nil
	case typ.Kind() == reflect.Int || typ.Kind() == reflect.Int64:
		n, err := strconv.ParseInt(raw, 10, 64)
		if err != nil {
			return nil, fmt.Errorf("not an integer")
		}
		return n, nil
	}
	return nil, fmt.Errorf("cannot be set from text (type %s)", typ)
}

// defaultSettings flattens c into viper defaults: one entry per scalar key and per list, with lists
// of structs as []any of map[string]any, the shape a YAML file decodes to.
func defaultSettings(c *Config) map[string]any {
	out := map[string]any{}
	flatten(reflect.ValueOf(c).Elem(), "", out)
	return out
}

func flatten(v reflect.Value, prefix string, out map[string]any) {
	t := v.Type()
	for i := range t.NumField() {
		name := tagName(t.Field(i))
		if name == "" {
			continue
		}
		fv := v.Field(i)
		if fv.Kind() == reflect.Struct && fv.Type() != durationType {
			flatten(fv, prefix+name+".", out)
			continue
		}
		out[prefix+name] = toPlain(fv)
	}
}

// toPlain converts a schema value to plain YAML-like data: structs to map[string]any, slices to
// []any, scalars unchanged.
func toPlain(v reflect.Value) any {
	switch v.Kind() {
	case reflect.Struct:
		if v.Type() == durationType {
			return v.Interface()
		}
		m := map[string]any{}
		for i := range v.NumField() {
			if name := tagName(v.Type().Field(i)); name != "" {
				m[name] = toPlain(v.Field(i))
			}
		}
		return m
	case reflect.Slice:
		if v.IsNil() {
			return []any(nil)
		}
		s := make([]any, v.Len())
		for i := range v.Len() {
			s[i] = toPlain(v.Index(i))
		}
		return s
	default:
		return v.Interface()
	}
}

// unknownKeys walks a parsed YAML document against struct type t and reports every mapping key
// that is not in the schema, and every section or list given as something else, with its full
// path and line. Keys are case-sensitive: "Issuer" is not "issuer".
func unknownKeys(n *yaml.Node, t reflect.Type, path, file string) []error {
	where := func(n *yaml.Node) string { return fmt.Sprintf("(%s, line %d)", file, n.Line) }
	var errs []error
	switch n.Kind {
	case yaml.DocumentNode:
		for _, c := range n.Content {
			errs = append(errs, unknownKeys(c, t, path, file)...)
		}
		return errs
	case yaml.AliasNode:
		return unknownKeys(n.Alias, t, path, file)
	}
	if n.Kind == 0 || isNull(n) {
		return nil // an empty document or a null value: nothing to check
	}
	switch t.Kind() {
	case reflect.Struct:
		if t == durationType {
			return nil
		}
		if n.Kind != yaml.MappingNode {
			return []error{fieldErr(orRoot(path), fmt.Errorf("%w: must be a mapping %s", ErrInvalid, where(n)))}
		}
		for i := 0; i+1 < len(n.Content); i += 2 {
			k, val := n.Content[i], n.Content[i+1]
			if k.Value == "<<" && k.Tag == "!!merge" {
				errs = append(errs, unknownKeys(val, t, path, file)...)
				continue
			}
			key := joinKey(path, k.Value)
			f, ok := fieldByTag(t, k.Value)
			if !ok {
				errs = append(errs, fieldErr(key, fmt.Errorf("%w %s", ErrUnknownKey, where(k))))
				continue
			}
			errs = append(errs, unknownKeys(val, f.Type, key, file)...)
		}
	case reflect.Slice:
		if n.Kind != yaml.SequenceNode {
			return []error{fieldErr(path, fmt.Errorf("%w: must be a list %s", ErrInvalid, where(n)))}
		}
		for i, item := range n.Content {
			errs = append(errs, unknownKeys(item, t.Elem(), fmt.Sprintf("%s[%d]", path, i), file)...)
		}
	}
	return errs
}

func isNull(n *yaml.Node) bool {
	return n.Kind == yaml.ScalarNode && n.Tag == "!!null"
}

func joinKey(path, name string) string {
	if path == "" {
		return name
	}
	return path + "." + name
}

func orRoot(path string) string {
	if path == "" {
		return "(top level)"
	}
	return path
}
