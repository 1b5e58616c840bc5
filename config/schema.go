package config

import (
	"fmt"
	"math"
	"slices"
	"strconv"
	"strings"
)

// keyType is what a key accepts.
type keyType int

const (
	typeString  keyType = iota + 1
	typeBool            // true or false
	typeInt             // an integer
	typeNumber          // a float; an integer is accepted too
	typeStrings         // a list of strings
	typeCompute         // a string or a list of strings; always a list once loaded
	typeCommand         // a string split like a shell would, or a list of strings
)

// bounds is an accepted range; the zero value accepts everything.
type bounds struct {
	lo, hi       float64
	hasLo, hasHi bool
	openLo       bool // lo itself is not accepted
}

func atLeast(lo float64) bounds          { return bounds{lo: lo, hasLo: true} }
func between(lo, hi float64) bounds      { return bounds{lo: lo, hi: hi, hasLo: true, hasHi: true} }
func greaterThan(lo float64) bounds      { return bounds{lo: lo, hasLo: true, openLo: true} }
func (b bounds) contains(x float64) bool { return b.containsLo(x) && (!b.hasHi || x <= b.hi) }

func (b bounds) containsLo(x float64) bool {
	switch {
	case math.IsNaN(x):
		return false
	case !b.hasLo:
		return true
	case b.openLo:
		return x > b.lo
	}
	return x >= b.lo
}

func (b bounds) String() string {
	num := func(f float64) string { return strconv.FormatFloat(f, 'f', -1, 64) }
	switch {
	case b.hasLo && b.hasHi:
		return num(b.lo) + " to " + num(b.hi)
	case b.openLo:
		return "more than " + num(b.lo)
	case b.hasLo:
		return num(b.lo) + " or more"
	}
	return "any number"
}

// keySpec is one key of a section.
type keySpec struct {
	name  string
	typ   keyType
	unit  string // "seconds", "GB": for messages
	rng   bounds
	enum  []string
	check func(d *decoder, path string, v *value, s string) // extra checks on a string
	// set stores the decoded value: string, bool, int, float64 or []string.
	set func(c *Config, x any)
}

// section is one [cerebrium.*] table.
type section struct {
	name string // full dotted path
	keys []keySpec
	subs []*section
	// stringMap, when set, makes the section a table of string values kept
	// as they are; names, when set, are the only keys it accepts.
	stringMap func(c *Config) *map[string]string
	names     []string
	about     string // what the section is, for "expected a table" messages
}

// ComputeTypes are the accepted values of [cerebrium.hardware] compute.
var ComputeTypes = []string{
	"CPU", "TURING_T4", "AMPERE_A10", "ADA_L4", "ADA_L40", "AMPERE_A100_40GB", "AMPERE_A100_80GB",
	"HOPPER_H100", "HOPPER_H200", "BLACKWELL_B200", "BLACKWELL_RTX6000", "INF2", "TRN1",
}

// MaxComputeTypes is how many compute types a list may name.
const MaxComputeTypes = 5

// ScalingMetrics are the accepted values of scaling_metric.
var ScalingMetrics = []string{MetricConcurrency, MetricRPS, MetricCPU, MetricMemory}

// LoadBalancingAlgorithms are the accepted values of load_balancing_algorithm.
var LoadBalancingAlgorithms = []string{LBAuto, LBFirstAvailable, LBRoundRobin, LBMinConnections, LBRandomChoice2}

// ComputeTiers are the accepted values of compute_tier ("" leaves the choice
// to the platform).
var ComputeTiers = []string{"interruptible", "protected"}

var schema = &section{
	name: "cerebrium",
	subs: []*section{
		{
			name:  "cerebrium.deployment",
			about: "the app's name and build settings",
			keys: []keySpec{
				{name: "name", typ: typeString, check: checkName, set: func(c *Config, x any) { c.Deployment.Name = x.(string) }},
				{name: "python_version", typ: typeString, set: func(c *Config, x any) { c.Deployment.PythonVersion = x.(string) }},
				{name: "docker_base_image_url", typ: typeString, set: func(c *Config, x any) { c.Deployment.DockerBaseImageURL = x.(string) }},
				{name: "include", typ: typeStrings, set: func(c *Config, x any) { c.Deployment.Include = x.([]string) }},
				{name: "exclude", typ: typeStrings, set: func(c *Config, x any) { c.Deployment.Exclude = x.([]string) }},
				{name: "shell_commands", typ: typeStrings, set: func(c *Config, x any) { c.Deployment.ShellCommands = x.([]string) }},
				{name: "pre_build_commands", typ: typeStrings, set: func(c *Config, x any) { c.Deployment.PreBuildCommands = x.([]string) }},
				{name: "disable_auth", typ: typeBool, set: func(c *Config, x any) { c.Deployment.DisableAuth = x.(bool) }},
				{name: "use_uv", typ: typeBool, set: func(c *Config, x any) { c.Deployment.UseUV = x.(bool) }},
				{name: "deployment_initialization_timeout", typ: typeInt, unit: "seconds", rng: between(60, 830),
					set: func(c *Config, x any) { c.Deployment.DeploymentInitializationTimeout = x.(int) }},
			},
		},
		{
			name:  "cerebrium.hardware",
			about: "the replica's hardware",
			keys: []keySpec{
				{name: "cpu", typ: typeNumber, unit: "CPU cores", rng: greaterThan(0), set: func(c *Config, x any) { c.Hardware.CPU = x.(float64) }},
				{name: "memory", typ: typeNumber, unit: "GB", rng: greaterThan(0), set: func(c *Config, x any) { c.Hardware.Memory = x.(float64) }},
				{name: "compute", typ: typeCompute, enum: ComputeTypes, set: func(c *Config, x any) { c.Hardware.Compute = x.([]string) }},
				{name: "gpu_count", typ: typeInt, rng: between(0, 8), set: func(c *Config, x any) { c.Hardware.GPUCount = x.(int) }},
				{name: "provider", typ: typeString, set: func(c *Config, x any) { c.Hardware.Provider = x.(string) }},
				{name: "region", typ: typeString, set: func(c *Config, x any) { c.Hardware.Region = x.(string) }},
			},
		},
		{
			name:  "cerebrium.scaling",
			about: "replica counts, concurrency and autoscaling",
			keys: []keySpec{
				{name: "min_replicas", typ: typeInt, rng: atLeast(0), set: func(c *Config, x any) { c.Scaling.MinReplicas = x.(int) }},
				{name: "max_replicas", typ: typeInt, rng: atLeast(0), set: func(c *Config, x any) { c.Scaling.MaxReplicas = x.(int) }},
				{name: "cooldown", typ: typeInt, unit: "seconds", rng: atLeast(0), set: func(c *Config, x any) { c.Scaling.Cooldown = x.(int) }},
				{name: "replica_concurrency", typ: typeInt, rng: atLeast(1), set: func(c *Config, x any) { c.Scaling.ReplicaConcurrency = x.(int) }},
				{name: "response_grace_period", typ: typeInt, unit: "seconds", rng: atLeast(1), set: func(c *Config, x any) { c.Scaling.ResponseGracePeriod = x.(int) }},
				{name: "scaling_metric", typ: typeString, enum: ScalingMetrics, set: func(c *Config, x any) { c.Scaling.ScalingMetric = x.(string) }},
				{name: "scaling_target", typ: typeInt, rng: greaterThan(0), set: func(c *Config, x any) { c.Scaling.ScalingTarget = x.(int) }},
				{name: "scaling_buffer", typ: typeInt, rng: atLeast(0), set: func(c *Config, x any) { c.Scaling.ScalingBuffer = x.(int) }},
				{name: "evaluation_interval_seconds", typ: typeInt, unit: "seconds", rng: between(6, 300), set: func(c *Config, x any) { c.Scaling.EvaluationIntervalSeconds = x.(int) }},
				{name: "load_balancing_algorithm", typ: typeString, enum: LoadBalancingAlgorithms, set: func(c *Config, x any) { c.Scaling.LoadBalancingAlgorithm = x.(string) }},
				{name: "roll_out_duration_seconds", typ: typeInt, unit: "seconds", rng: between(0, 600), set: func(c *Config, x any) { c.Scaling.RollOutDurationSeconds = x.(int) }},
				{name: "compute_tier", typ: typeString, enum: ComputeTiers, set: func(c *Config, x any) { c.Scaling.ComputeTier = x.(string) }},
			},
		},
		{
			name:  "cerebrium.runtime",
			about: "how the app runs",
			subs: []*section{{
				name:  "cerebrium.runtime.custom",
				about: "the app's command, port and probes",
				keys: []keySpec{
					{name: "port", typ: typeInt, rng: between(1, 65535), set: func(c *Config, x any) { c.Runtime.Custom.Port = x.(int) }},
					{name: "entrypoint", typ: typeCommand, set: func(c *Config, x any) {
						c.Runtime.Custom.Entrypoint = x.([]string)
						c.Runtime.Custom.EntrypointSource = "entrypoint"
					}},
					{name: "healthcheck_endpoint", typ: typeString, check: checkEndpoint, set: func(c *Config, x any) { c.Runtime.Custom.HealthcheckEndpoint = x.(string) }},
					{name: "readycheck_endpoint", typ: typeString, check: checkEndpoint, set: func(c *Config, x any) { c.Runtime.Custom.ReadycheckEndpoint = x.(string) }},
					{name: "dockerfile_path", typ: typeString, check: checkNotEmpty, set: func(c *Config, x any) { c.Runtime.Custom.DockerfilePath = x.(string) }},
				},
			}},
		},
		{
			name:  "cerebrium.dependencies",
			about: "packages to install (kept, not installed by ebb)",
			subs: []*section{
				{name: "cerebrium.dependencies.pip", about: "pip packages and versions", stringMap: func(c *Config) *map[string]string { return &c.Dependencies.Pip }},
				{name: "cerebrium.dependencies.apt", about: "apt packages and versions", stringMap: func(c *Config) *map[string]string { return &c.Dependencies.Apt }},
				{name: "cerebrium.dependencies.conda", about: "conda packages and versions", stringMap: func(c *Config) *map[string]string { return &c.Dependencies.Conda }},
				{name: "cerebrium.dependencies.paths", about: "dependency files", names: []string{"pip", "apt", "conda"},
					stringMap: func(c *Config) *map[string]string { return &c.Dependencies.Paths }},
			},
		},
	},
}

// lastPart is the last element of a dotted section name.
func lastPart(name string) string {
	return name[strings.LastIndexByte(name, '.')+1:]
}

func (s *section) keyNames() []string {
	var names []string
	for _, k := range s.keys {
		names = append(names, k.name)
	}
	for _, sub := range s.subs {
		names = append(names, lastPart(sub.name))
	}
	return append(names, s.names...)
}

// owner finds the section that accepts key name, for "belongs in" hints.
func (s *section) owner(name string) *section {
	for _, k := range s.keys {
		if k.name == name {
			return s
		}
	}
	for _, sub := range s.subs {
		if o := sub.owner(name); o != nil {
			return o
		}
	}
	return nil
}

// decoder checks a document tree against the schema and fills a Config.
type decoder struct {
	doc     *document
	cfg     *Config
	present map[string]*value // by dotted path: keys the file sets
	bad     map[string]bool   // keys with a problem: skipped by cross-checks
}

func (d *decoder) errorf(v *value, path, format string, args ...any) {
	d.bad[path] = true
	d.doc.errorAt(v.at, path, format, args...)
}

func (d *decoder) keyErrorf(v *value, path, format string, args ...any) {
	d.bad[path] = true
	d.doc.errorAt(v.keyAt, path, format, args...)
}

// decodeRoot walks the top level: only [cerebrium] belongs there.
func (d *decoder) decodeRoot(root *value) {
	for _, k := range root.order {
		v := root.fields[k]
		if k == "cerebrium" {
			if v.kind != kindTable {
				d.errorf(v, k, "expected a table of [cerebrium.*] sections, got %s", v.describe())
				continue
			}
			d.decodeSection(schema, v)
			continue
		}
		d.unknown(root, nil, k, v, k)
	}
}

// unknown reports a key that no section accepts.
func (d *decoder) unknown(parent *value, s *section, key string, v *value, path string) {
	what := "key"
	if v.kind == kindTable {
		what = "section"
	}
	var candidates []string
	where := "at the top level (ebb reads only the [cerebrium.*] sections)"
	if s == nil {
		candidates = []string{"cerebrium"}
	} else {
		candidates = s.keyNames()
		where = "in [" + s.name + "]"
	}
	if best := suggest(key, candidates); best != "" {
		d.keyErrorf(v, path, "unknown %s %s; did you mean %q?", what, where, best)
		return
	}
	if s != nil && v.kind != kindTable {
		if o := schema.owner(key); o != nil && o != s {
			d.keyErrorf(v, path, "unknown key %s; %s belongs in [%s]", where, key, o.name)
			return
		}
	}
	if s == nil {
		d.keyErrorf(v, path, "unknown %s %s", what, where)
		return
	}
	d.keyErrorf(v, path, "unknown %s %s; accepted: %s", what, where, strings.Join(candidates, ", "))
}

func (d *decoder) decodeSection(s *section, t *value) {
	for _, k := range t.order {
		v := t.fields[k]
		path := s.name + "." + quoteKey(k)
		if s.stringMap != nil {
			d.decodeStringMapEntry(s, k, v, path)
			continue
		}
		if ks := s.key(k); ks != nil {
			d.present[path] = v
			d.decodeKey(ks, v, path)
			continue
		}
		if sub := s.sub(k); sub != nil {
			if v.kind != kindTable {
				d.errorf(v, path, "expected a table ([%s]: %s), got %s", sub.name, sub.about, v.describe())
				continue
			}
			d.present[path] = v
			d.decodeSection(sub, v)
			continue
		}
		d.unknown(t, s, k, v, path)
	}
}

func (s *section) key(name string) *keySpec {
	for i := range s.keys {
		if s.keys[i].name == name {
			return &s.keys[i]
		}
	}
	return nil
}

func (s *section) sub(name string) *section {
	for _, sub := range s.subs {
		if lastPart(sub.name) == name {
			return sub
		}
	}
	return nil
}

func (d *decoder) decodeStringMapEntry(s *section, k string, v *value, path string) {
	if s.names != nil && !slices.Contains(s.names, k) {
		d.unknown(nil, s, k, v, path)
		return
	}
	if v.kind != kindString {
		d.errorf(v, path, "expected a string (%s), got %s", s.about, v.describe())
		return
	}
	m := s.stringMap(d.cfg)
	if *m == nil {
		*m = map[string]string{}
	}
	(*m)[k] = v.str
}

// expected describes what a key accepts, for "expected ..., got ..." messages.
func (ks *keySpec) expected() string {
	switch ks.typ {
	case typeString:
		return "a string"
	case typeBool:
		return "true or false"
	case typeInt:
		if ks.unit != "" {
			return "an integer number of " + ks.unit
		}
		return "an integer"
	case typeNumber:
		if ks.unit != "" {
			return "a number of " + ks.unit
		}
		return "a number"
	case typeStrings:
		return "a list of strings"
	case typeCompute:
		return "a compute type or a list of up to 5 of them"
	case typeCommand:
		return `a command: a string like "python main.py" or a list like ["python", "main.py"]`
	}
	return "a value"
}

func (d *decoder) decodeKey(ks *keySpec, v *value, path string) {
	switch ks.typ {
	case typeString:
		if v.kind != kindString {
			d.errorf(v, path, "expected %s, got %s", ks.expected(), v.describe())
			return
		}
		if !d.checkEnum(ks, v, path, v.str) {
			return
		}
		if ks.check != nil {
			ks.check(d, path, v, v.str)
			if d.bad[path] {
				return
			}
		}
		ks.set(d.cfg, v.str)
	case typeBool:
		if v.kind != kindBool {
			d.errorf(v, path, "expected %s, got %s", ks.expected(), v.describe())
			return
		}
		ks.set(d.cfg, v.bool)
	case typeInt:
		if v.kind != kindInteger {
			d.errorf(v, path, "expected %s, got %s", ks.expected(), v.describe())
			return
		}
		if !ks.rng.contains(float64(v.int)) {
			d.errorf(v, path, "%s is out of range; accepted: %s%s", v.raw, ks.rng, unitSuffix(ks.unit))
			return
		}
		if v.int > math.MaxInt32 || v.int < math.MinInt32 {
			d.errorf(v, path, "%s is too large", v.raw)
			return
		}
		ks.set(d.cfg, int(v.int))
	case typeNumber:
		var f float64
		switch v.kind {
		case kindInteger:
			f = float64(v.int)
		case kindFloat:
			f = v.float
		default:
			d.errorf(v, path, "expected %s, got %s", ks.expected(), v.describe())
			return
		}
		if !ks.rng.contains(f) || math.IsInf(f, 0) {
			d.errorf(v, path, "%s is out of range; accepted: %s%s", v.raw, ks.rng, unitSuffix(ks.unit))
			return
		}
		ks.set(d.cfg, f)
	case typeStrings:
		list, ok := d.stringList(ks, v, path)
		if ok {
			ks.set(d.cfg, list)
		}
	case typeCompute:
		d.decodeCompute(ks, v, path)
	case typeCommand:
		d.decodeCommand(ks, v, path)
	}
}

func unitSuffix(unit string) string {
	if unit == "" {
		return ""
	}
	return " " + unit
}

// stringList decodes a list of strings, reporting each element that is not
// a string.
func (d *decoder) stringList(ks *keySpec, v *value, path string) ([]string, bool) {
	if v.kind != kindArray {
		d.errorf(v, path, "expected %s, got %s", ks.expected(), v.describe())
		return nil, false
	}
	list := make([]string, 0, len(v.items))
	ok := true
	for i, item := range v.items {
		if item.kind != kindString {
			d.errorf(item, fmt.Sprintf("%s[%d]", path, i), "expected a string, got %s", item.describe())
			d.bad[path] = true
			ok = false
			continue
		}
		list = append(list, item.str)
	}
	return list, ok
}

func (d *decoder) checkEnum(ks *keySpec, v *value, path, s string) bool {
	if ks.enum == nil || slices.Contains(ks.enum, s) {
		return true
	}
	quoted := make([]string, len(ks.enum))
	for i, e := range ks.enum {
		quoted[i] = strconv.Quote(e)
	}
	hint := ""
	if best := suggest(s, ks.enum); best != "" && s != "" {
		hint = fmt.Sprintf(" did you mean %q?", best)
	}
	d.errorf(v, path, "%q is not accepted;%s accepted: %s", s, hint, strings.Join(quoted, ", "))
	return false
}

func (d *decoder) decodeCompute(ks *keySpec, v *value, path string) {
	switch v.kind {
	case kindString:
		if d.checkEnum(ks, v, path, v.str) {
			ks.set(d.cfg, []string{v.str})
		}
		return
	case kindArray:
	default:
		d.errorf(v, path, "expected %s, got %s", ks.expected(), v.describe())
		return
	}
	list, ok := d.stringList(ks, v, path)
	if !ok {
		return
	}
	switch {
	case len(list) == 0:
		d.errorf(v, path, "the list is empty; name at least one compute type, like \"CPU\"")
		return
	case len(list) > MaxComputeTypes:
		d.errorf(v, path, "lists %d compute types; accepted: at most %d", len(list), MaxComputeTypes)
		return
	}
	for i, c := range list {
		ip := fmt.Sprintf("%s[%d]", path, i)
		if !d.checkEnum(ks, v.items[i], ip, c) {
			d.bad[path] = true
			continue
		}
		if j := slices.Index(list, c); j < i {
			d.errorf(v.items[i], ip, "%q is listed twice", c)
			d.bad[path] = true
		}
	}
	if !d.bad[path] {
		ks.set(d.cfg, list)
	}
}

func (d *decoder) decodeCommand(ks *keySpec, v *value, path string) {
	var argv []string
	switch v.kind {
	case kindString:
		words, plain, err := splitCommand(v.str)
		if err != nil {
			serr := err.(*shellError)
			off := v.at
			if exact := stringContentOffset(v); exact >= 0 {
				off = exact + serr.Offset
			}
			d.bad[path] = true
			d.doc.errorAt(off, path, "%s (at character %d of the command); quote or escape it like a POSIX shell would, or write the command as a list", serr.Msg, len([]rune(v.str[:serr.Offset]))+1)
			return
		}
		for i, w := range words {
			if plain[i] && shellOperators[w] {
				line, col := d.doc.position(v.at)
				d.cfg.Warnings = append(d.cfg.Warnings, fmt.Sprintf(
					"%s:%d:%d: %s: %q reaches the program as a plain argument: no shell runs the entrypoint; write [\"/bin/sh\", \"-c\", \"exec ...\"] if you need one",
					d.doc.file, line, col, path, w))
				break
			}
		}
		argv = words
	case kindArray:
		list, ok := d.stringList(ks, v, path)
		if !ok {
			return
		}
		argv = list
	default:
		d.errorf(v, path, "expected %s, got %s", ks.expected(), v.describe())
		return
	}
	if len(argv) == 0 || argv[0] == "" {
		d.errorf(v, path, "the command is empty; name the program to run, like [\"./server\"]")
		return
	}
	ks.set(d.cfg, argv)
}

// stringContentOffset is the offset of a string value's first character when
// the source text maps one to one onto the value (a one-line string without
// escapes), else -1.
func stringContentOffset(v *value) int {
	if len(v.raw) < 2 || strings.HasPrefix(v.raw, `"""`) || strings.HasPrefix(v.raw, `'''`) {
		return -1
	}
	inner := v.raw[1 : len(v.raw)-1]
	if inner != v.str {
		return -1
	}
	return v.at + 1
}

func checkName(d *decoder, path string, v *value, s string) {
	if ValidName(s) {
		return
	}
	hint := ""
	if fixed := SanitizeName(s); fixed != "" {
		hint = fmt.Sprintf(", like %q", fixed)
	}
	d.errorf(v, path, "%q is not a valid name; use lowercase letters, digits and dashes%s", s, hint)
}

func checkEndpoint(d *decoder, path string, v *value, s string) {
	if s != "" && !strings.HasPrefix(s, "/") {
		d.errorf(v, path, "%q must start with \"/\", like \"/%s\" (or be \"\" to leave it unset)", s, strings.TrimLeft(s, "/"))
	}
}

func checkNotEmpty(d *decoder, path string, v *value, s string) {
	if s == "" {
		d.errorf(v, path, "must not be empty; leave the key out instead")
	}
}

// ValidName reports whether name is an accepted app name: lowercase letters,
// digits and dashes.
func ValidName(name string) bool {
	if name == "" {
		return false
	}
	for i := 0; i < len(name); i++ {
		c := name[i]
		if !(c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '-') {
			return false
		}
	}
	return true
}

// SanitizeName turns s (a directory name, say) into a valid app name:
// lowercased, every run of other characters replaced by one dash, no dash at
// either end. It returns "" when nothing usable is left.
func SanitizeName(s string) string {
	var b strings.Builder
	dash := false
	for _, r := range strings.ToLower(s) {
		if r >= 'a' && r <= 'z' || r >= '0' && r <= '9' {
			if dash && b.Len() > 0 {
				b.WriteByte('-')
			}
			dash = false
			b.WriteRune(r)
			continue
		}
		dash = true
	}
	return b.String()
}
