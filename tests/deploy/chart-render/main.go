// w2s-chart-render: renders a Helm chart the way `helm template` does, for the
// tests of helm/ on machines without helm (Debian packages no helm binary).
//
// It is built from Debian's Go packages only (golang-go, sprig, sigs.k8s.io/yaml,
// gojsonschema: the libraries Helm itself uses) and reproduces the parts of
// Helm 3's engine a chart relies on:
//   - values: the chart's values.yaml, then each -f file merged over it (maps
//     merge key by key, anything else replaces, a null deletes the key), read
//     with sigs.k8s.io/yaml as Helm does (numbers are float64);
//   - values.schema.json, when the chart has one, checked with gojsonschema;
//   - Chart.yaml checked as `helm lint` does (apiVersion v2, name, SemVer version);
//   - templates: Go text/template with sprig (without env/expandenv) plus
//     Helm's toYaml, fromYaml, fromYamlArray, toJson, fromJson, fromJsonArray,
//     include, tpl, required, lookup (empty, as in `helm
//     template`); missingkey=zero and "<no value>" removed; files whose name
//     starts with "_" define templates only; NOTES.txt is rendered but not output;
//   - .Release (Name, Namespace, IsInstall, IsUpgrade, Revision, Service),
//     .Chart (the Chart.yaml fields), .Capabilities (KubeVersion,
//     APIVersions.Has), .Template (Name, BasePath), .Files (Get, Glob names);
//   - output: every document of every template, as `helm template` prints it
//     ("---", "# Source: <chart>/templates/<file>", the document).
//
// Usage: w2s-chart-render [-f values.yaml]... [--name N] [--namespace NS] [--kube-version V] [--api-versions G/V]... CHART_DIR
package main

import (
	"bytes"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"os"
	"path"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
	"text/template"

	"github.com/Masterminds/semver"
	"github.com/Masterminds/sprig"
	"github.com/xeipuuv/gojsonschema"
	"sigs.k8s.io/yaml"
)

type listFlag []string

func (l *listFlag) String() string     { return strings.Join(*l, ",") }
func (l *listFlag) Set(v string) error { *l = append(*l, v); return nil }

// Metadata holds the Chart.yaml fields a template reads as .Chart.X.
type Metadata struct {
	APIVersion  string            `json:"apiVersion"`
	Name        string            `json:"name"`
	Version     string            `json:"version"`
	AppVersion  string            `json:"appVersion,omitempty"`
	Description string            `json:"description,omitempty"`
	Type        string            `json:"type,omitempty"`
	KubeVersion string            `json:"kubeVersion,omitempty"`
	Home        string            `json:"home,omitempty"`
	Keywords    []string          `json:"keywords,omitempty"`
	Sources     []string          `json:"sources,omitempty"`
	Icon        string            `json:"icon,omitempty"`
	Annotations map[string]string `json:"annotations,omitempty"`
	Maintainers []struct {
		Name  string `json:"name"`
		Email string `json:"email,omitempty"`
		URL   string `json:"url,omitempty"`
	} `json:"maintainers,omitempty"`
}

type KubeVersion struct {
	Version, Major, Minor, GitVersion string
}

func (k KubeVersion) String() string { return k.Version }

type VersionSet []string

func (v VersionSet) Has(apiVersion string) bool {
	for _, x := range v {
		if x == apiVersion {
			return true
		}
	}
	return false
}

type Capabilities struct {
	KubeVersion KubeVersion
	APIVersions VersionSet
}

// Files gives templates the chart's other files (.Files.Get, .Files.Glob).
type Files map[string][]byte

func (f Files) Get(name string) string { return string(f[name]) }
func (f Files) GetBytes(name string) []byte {
	return f[name]
}
func (f Files) Glob(pattern string) Files {
	out := Files{}
	for name, data := range f {
		if ok, _ := path.Match(pattern, name); ok {
			out[name] = data
		}
	}
	return out
}

// The default API versions of `helm template` (a subset: the ones charts test for).
var defaultAPIVersions = []string{
	"v1", "apps/v1", "batch/v1", "policy/v1", "autoscaling/v1", "autoscaling/v2",
	"networking.k8s.io/v1", "rbac.authorization.k8s.io/v1", "apiextensions.k8s.io/v1",
	"coordination.k8s.io/v1", "discovery.k8s.io/v1", "storage.k8s.io/v1",
}

func main() {
	var valueFiles, apiVersions listFlag
	name := flag.String("name", "release-name", "release name (helm template's default)")
	namespace := flag.String("namespace", "default", "release namespace")
	kubeVersion := flag.String("kube-version", "1.29.0", "Kubernetes version for .Capabilities")
	flag.Var(&valueFiles, "f", "values file merged over the chart's (repeatable)")
	flag.Var(&apiVersions, "api-versions", "extra API version for .Capabilities.APIVersions (repeatable)")
	flag.Parse()
	if flag.NArg() != 1 {
		fmt.Fprintln(os.Stderr, "usage: w2s-chart-render [-f values.yaml]... [--name N] [--namespace NS] [--kube-version V] [--api-versions G/V]... CHART_DIR")
		os.Exit(2)
	}
	out, err := render(flag.Arg(0), valueFiles, *name, *namespace, *kubeVersion, apiVersions)
	if err != nil {
		fmt.Fprintln(os.Stderr, "Error:", err)
		os.Exit(1)
	}
	os.Stdout.WriteString(out)
}

func readYAMLMap(file string) (map[string]interface{}, error) {
	data, err := os.ReadFile(file)
	if err != nil {
		return nil, err
	}
	m := map[string]interface{}{}
	if err := yaml.Unmarshal(data, &m); err != nil {
		return nil, fmt.Errorf("%s: %w", file, err)
	}
	if m == nil {
		m = map[string]interface{}{}
	}
	return m, nil
}

// mergeValues puts src over dst as Helm's coalescing does for user values.
func mergeValues(dst, src map[string]interface{}) {
	for k, v := range src {
		if v == nil {
			delete(dst, k)
			continue
		}
		sm, sok := v.(map[string]interface{})
		dm, dok := dst[k].(map[string]interface{})
		if sok && dok {
			mergeValues(dm, sm)
			continue
		}
		dst[k] = v
	}
}

func checkChart(dir string) (*Metadata, error) {
	data, err := os.ReadFile(filepath.Join(dir, "Chart.yaml"))
	if err != nil {
		return nil, err
	}
	var md Metadata
	if err := yaml.UnmarshalStrict(data, &md); err != nil {
		return nil, fmt.Errorf("Chart.yaml: %w", err)
	}
	if md.APIVersion != "v2" {
		return nil, errors.New("Chart.yaml: apiVersion must be v2")
	}
	if md.Name == "" || md.Name != filepath.Base(filepath.Clean(dir)) {
		return nil, fmt.Errorf("Chart.yaml: name %q must be the chart directory's name %q", md.Name, filepath.Base(filepath.Clean(dir)))
	}
	if _, err := semver.StrictNewVersion(md.Version); err != nil {
		return nil, fmt.Errorf("Chart.yaml: version %q is not SemVer 2: %v", md.Version, err)
	}
	if md.Type != "" && md.Type != "application" && md.Type != "library" {
		return nil, fmt.Errorf("Chart.yaml: type %q is not application or library", md.Type)
	}
	return &md, nil
}

func checkSchema(dir string, values map[string]interface{}) error {
	schema, err := os.ReadFile(filepath.Join(dir, "values.schema.json"))
	if errors.Is(err, os.ErrNotExist) {
		return nil
	}
	if err != nil {
		return err
	}
	doc, err := yaml.Marshal(values)
	if err != nil {
		return err
	}
	valuesJSON, err := yaml.YAMLToJSON(doc)
	if err != nil {
		return err
	}
	result, err := gojsonschema.Validate(gojsonschema.NewBytesLoader(schema), gojsonschema.NewBytesLoader(valuesJSON))
	if err != nil {
		return fmt.Errorf("values.schema.json: %w", err)
	}
	if !result.Valid() {
		var msgs []string
		for _, e := range result.Errors() {
			msgs = append(msgs, "- "+e.String())
		}
		return fmt.Errorf("values don't meet the specifications of the schema(s) in the following chart(s):\n%s", strings.Join(msgs, "\n"))
	}
	return nil
}

func render(dir string, valueFiles []string, name, namespace, kubeVersion string, extraAPIs []string) (string, error) {
	md, err := checkChart(dir)
	if err != nil {
		return "", err
	}
	values, err := readYAMLMap(filepath.Join(dir, "values.yaml"))
	if err != nil {
		return "", err
	}
	for _, f := range valueFiles {
		user, err := readYAMLMap(f)
		if err != nil {
			return "", err
		}
		mergeValues(values, user)
	}
	if err := checkSchema(dir, values); err != nil {
		return "", err
	}
	kv, err := semver.NewVersion(kubeVersion)
	if err != nil {
		return "", fmt.Errorf("--kube-version: %w", err)
	}
	if md.KubeVersion != "" {
		c, err := semver.NewConstraint(md.KubeVersion)
		if err != nil {
			return "", fmt.Errorf("Chart.yaml kubeVersion: %w", err)
		}
		if !c.Check(kv) {
			return "", fmt.Errorf("chart requires kubeVersion: %s which is incompatible with Kubernetes v%s", md.KubeVersion, kv)
		}
	}

	files := Files{}
	var templates []string
	err = filepath.Walk(dir, func(p string, info os.FileInfo, err error) error {
		if err != nil || info.IsDir() {
			return err
		}
		rel, _ := filepath.Rel(dir, p)
		rel = filepath.ToSlash(rel)
		if strings.HasPrefix(rel, "templates/") {
			templates = append(templates, rel)
			return nil
		}
		data, err := os.ReadFile(p)
		files[rel] = data
		return err
	})
	if err != nil {
		return "", err
	}
	sort.Strings(templates)

	top := map[string]interface{}{
		"Values": values,
		"Release": map[string]interface{}{
			"Name": name, "Namespace": namespace, "IsInstall": true, "IsUpgrade": false,
			"Revision": 1, "Service": "Helm",
		},
		"Chart": md,
		"Capabilities": Capabilities{
			KubeVersion: KubeVersion{Version: "v" + kv.String(), Major: fmt.Sprint(kv.Major()),
				Minor: fmt.Sprint(kv.Minor()), GitVersion: "v" + kv.String()},
			APIVersions: append(VersionSet(defaultAPIVersions), extraAPIs...),
		},
		"Files": files,
	}

	t := template.New("gotpl").Option("missingkey=zero")
	includeDepth := map[string]int{}
	funcs := funcMap()
	funcs["include"] = func(tname string, data interface{}) (string, error) {
		includeDepth[tname]++
		defer func() { includeDepth[tname]-- }()
		if includeDepth[tname] > 1000 {
			return "", fmt.Errorf("rendering template has a nested reference name: %s", tname)
		}
		var buf strings.Builder
		if err := t.ExecuteTemplate(&buf, tname, data); err != nil {
			return "", err
		}
		return buf.String(), nil
	}
	funcs["tpl"] = func(text string, data interface{}) (string, error) {
		clone, err := t.Clone()
		if err != nil {
			return "", err
		}
		clone.Option("missingkey=zero")
		inner, err := clone.New("tpl").Parse(text)
		if err != nil {
			return "", fmt.Errorf("cannot parse template %q: %w", text, err)
		}
		var buf strings.Builder
		if err := inner.Execute(&buf, data); err != nil {
			return "", fmt.Errorf("error during tpl function execution for %q: %w", text, err)
		}
		return strings.ReplaceAll(buf.String(), "<no value>", ""), nil
	}
	t.Funcs(funcs)

	base := md.Name + "/"
	for _, rel := range templates {
		data, err := os.ReadFile(filepath.Join(dir, rel))
		if err != nil {
			return "", err
		}
		if _, err := t.New(base + rel).Parse(string(data)); err != nil {
			return "", err
		}
	}

	var out strings.Builder
	for _, rel := range templates {
		tname := base + rel
		if strings.HasPrefix(path.Base(rel), "_") {
			continue
		}
		scope := map[string]interface{}{}
		for k, v := range top {
			scope[k] = v
		}
		scope["Template"] = map[string]interface{}{"Name": tname, "BasePath": base + "templates"}
		var buf bytes.Buffer
		if err := t.ExecuteTemplate(&buf, tname, scope); err != nil {
			return "", err
		}
		if path.Base(rel) == "NOTES.txt" {
			continue
		}
		text := strings.ReplaceAll(buf.String(), "<no value>", "")
		for _, doc := range splitManifests(text) {
			fmt.Fprintf(&out, "---\n# Source: %s\n%s\n", tname, doc)
		}
	}
	return out.String(), nil
}

var sep = regexp.MustCompile("(?:^|\\s*\n)---\\s*")

// splitManifests drops empty documents, as Helm's releaseutil does.
func splitManifests(text string) []string {
	var docs []string
	for _, d := range sep.Split(text, -1) {
		if strings.TrimSpace(d) == "" {
			continue
		}
		docs = append(docs, strings.TrimSpace(d))
	}
	return docs
}

func funcMap() template.FuncMap {
	f := sprig.TxtFuncMap()
	delete(f, "env")
	delete(f, "expandenv")
	extra := template.FuncMap{
		"toYaml": func(v interface{}) string {
			data, err := yaml.Marshal(v)
			if err != nil {
				return ""
			}
			return strings.TrimSuffix(string(data), "\n")
		},
		"fromYaml": func(s string) map[string]interface{} {
			m := map[string]interface{}{}
			if err := yaml.Unmarshal([]byte(s), &m); err != nil {
				m["Error"] = err.Error()
			}
			return m
		},
		"fromYamlArray": func(s string) []interface{} {
			var a []interface{}
			if err := yaml.Unmarshal([]byte(s), &a); err != nil {
				a = []interface{}{err.Error()}
			}
			return a
		},
		"toJson": func(v interface{}) string {
			data, err := json.Marshal(v)
			if err != nil {
				return ""
			}
			return string(data)
		},
		"fromJson": func(s string) map[string]interface{} {
			m := map[string]interface{}{}
			if err := json.Unmarshal([]byte(s), &m); err != nil {
				m["Error"] = err.Error()
			}
			return m
		},
		"fromJsonArray": func(s string) []interface{} {
			var a []interface{}
			if err := json.Unmarshal([]byte(s), &a); err != nil {
				a = []interface{}{err.Error()}
			}
			return a
		},
		"required": func(msg string, v interface{}) (interface{}, error) {
			if v == nil {
				return v, errors.New(msg)
			}
			if s, ok := v.(string); ok && s == "" {
				return v, errors.New(msg)
			}
			return v, nil
		},
		"lookup": func(string, string, string, string) (map[string]interface{}, error) {
			return map[string]interface{}{}, nil
		},
		// Replaced per render (they need the template set).
		"include": func(string, interface{}) string { return "not implemented" },
		"tpl":     func(string, interface{}) interface{} { return "not implemented" },
	}
	for k, v := range extra {
		f[k] = v
	}
	return f
}
