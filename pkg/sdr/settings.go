package sdr

import (
	"errors"
	"fmt"
	"os"
	"strings"

	"sigs.k8s.io/yaml"

	"github.com/sdr-mirror/kubectl-sdr-mirror/pkg/setting"
)

// ErrNotFound is wrapped by errors for a setting that was looked for and
// not found.
var ErrNotFound = errors.New("not found")

// Settings are what the SDR is configured with, as far as mirroring needs.
// Each field has a From* partner saying where it came from ("flag
// --target", `values of release "sdr/atlan-sdr-acme" at
// sdr.config.imageMapPath`, ...), and Searched lists, per setting, where it
// was looked for.
type Settings struct {
	ImageMapPath   string
	Target         string
	Bucket         string
	DeploymentName string
	ObjectStore    *Component

	RegistryUsername string
	RegistryPassword string //nolint:gosec // a credential read from config, never printed
	PullSecrets      []string

	From     map[string]string
	searched map[string]string
}

// Setting names, used in From and in errors.
const (
	SettingImageMapPath   = "image map key"
	SettingTarget         = "registry prefix"
	SettingObjectStore    = "object store"
	SettingDeploymentName = "deployment name"
)

var settingFlags = map[string]setting.Name{
	SettingImageMapPath:   setting.ImageMapPath,
	SettingTarget:         setting.Target,
	SettingObjectStore:    setting.Bucket,
	SettingDeploymentName: setting.DeploymentName,
}

// Overrides are the flags that replace discovered settings.
type Overrides struct {
	ImageMapPath   string
	Target         string
	Bucket         string
	DeploymentName string
}

func newSettings() *Settings {
	return &Settings{From: map[string]string{}, searched: map[string]string{}}
}

func (s *Settings) set(setting string, dst *string, value, from string) {
	if value == "" || *dst != "" {
		return
	}
	*dst = value
	s.From[setting] = from
}

func (s *Settings) looked(setting, where string) {
	if prev := s.searched[setting]; prev != "" {
		s.searched[setting] = prev + ", " + where
		return
	}
	s.searched[setting] = where
}

func (s *Settings) apply(o Overrides) {
	s.set(SettingImageMapPath, &s.ImageMapPath, o.ImageMapPath, "flag "+setting.ImageMapPath.String())
	s.set(SettingTarget, &s.Target, o.Target, "flag "+setting.Target.String())
	s.set(SettingObjectStore, &s.Bucket, o.Bucket, "flag "+setting.Bucket.String())
	s.set(SettingDeploymentName, &s.DeploymentName, o.DeploymentName, "flag "+setting.DeploymentName.String())
}

// Require returns an error for the first of the named settings that was
// not found, saying where it was looked for and which flag supplies it.
func (s *Settings) Require(settings ...string) error {
	for _, name := range settings {
		have := false
		switch name {
		case SettingImageMapPath:
			have = s.ImageMapPath != ""
		case SettingTarget:
			have = s.Target != ""
		case SettingObjectStore:
			have = s.Bucket != "" || s.ObjectStore != nil
		case SettingDeploymentName:
			have = s.DeploymentName != ""
		}
		if have {
			continue
		}
		where := s.searched[name]
		if where == "" {
			where = fmt.Sprintf("nowhere (no SDR release, %s or %s was given)", setting.Values, setting.Config)
		}
		return fmt.Errorf("%s %w: looked in %s; pass %s", name, ErrNotFound, where, settingFlags[name])
	}
	return nil
}

// lookup returns the string at a dotted path of values.
func lookup(values map[string]any, path string) (string, bool) {
	var cur any = values
	for _, k := range strings.Split(path, ".") {
		m, ok := cur.(map[string]any)
		if !ok {
			return "", false
		}
		if cur, ok = m[k]; !ok {
			return "", false
		}
	}
	switch v := cur.(type) {
	case string:
		return v, v != ""
	case nil, map[string]any, []any:
		return "", false
	default:
		return fmt.Sprint(v), true
	}
}

// Values paths the SDR chart keeps each setting at, in order of preference.
var (
	imageMapPathKeys   = []string{"sdr.config.imageMapPath", "imageMapPath"}
	targetKeys         = []string{"sdr.config.containerRegistryBase", "containerRegistryBase"}
	deploymentNameKeys = []string{"sdr.deploymentName", "deploymentName"}
	pullSecretKeys     = []string{"imagePullSecrets", "global.imagePullSecrets", "sdr.imagePullSecrets"}
)

// fromValues fills s from Helm values (user values merged over chart
// defaults). where describes the values for messages, e.g. `values of
// release "sdr/atlan-sdr-acme"`.
func (s *Settings) fromValues(values map[string]any, where string) {
	pick := func(setting string, dst *string, keys []string) {
		for _, k := range keys {
			if v, ok := lookup(values, k); ok {
				s.set(setting, dst, v, where+" at "+k)
				return
			}
		}
		s.looked(setting, where+" ("+strings.Join(keys, ", ")+")")
	}
	pick(SettingImageMapPath, &s.ImageMapPath, imageMapPathKeys)
	pick(SettingTarget, &s.Target, targetKeys)
	pick(SettingDeploymentName, &s.DeploymentName, deploymentNameKeys)
	if s.ObjectStore == nil {
		if c, at := findComponentInValues(values); c != nil {
			c.Source = where + " at " + at
			s.ObjectStore = c
			s.From[SettingObjectStore] = c.Source
		} else {
			s.looked(SettingObjectStore, where+" (a Dapr component named objectstore)")
		}
	}
	for _, k := range pullSecretKeys {
		var cur any = values
		for _, p := range strings.Split(k, ".") {
			m, _ := cur.(map[string]any)
			cur = m[p]
		}
		list, _ := cur.([]any)
		for _, e := range list {
			switch t := e.(type) {
			case string:
				s.PullSecrets = append(s.PullSecrets, t)
			case map[string]any:
				if n, _ := t["name"].(string); n != "" {
					s.PullSecrets = append(s.PullSecrets, n)
				}
			}
		}
	}
}

// fromManifest looks for the objectstore component in a rendered manifest.
func (s *Settings) fromManifest(manifest, where string) {
	if s.ObjectStore != nil {
		return
	}
	if c, at := findComponentInManifest(manifest); c != nil {
		c.Source = where + " " + at
		s.ObjectStore = c
		s.From[SettingObjectStore] = c.Source
		return
	}
	s.looked(SettingObjectStore, where+" (a Component, or component YAML in a ConfigMap or Secret)")
}

// FromValuesFile reads the settings from a Helm values file, without a
// cluster, then applies the overrides.
func FromValuesFile(path string, o Overrides) (*Settings, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("reading values file: %w", err)
	}
	var values map[string]any
	if err := yaml.Unmarshal(data, &values); err != nil {
		return nil, fmt.Errorf("reading values file %q: %w", path, err)
	}
	s := newSettings()
	s.apply(o)
	s.fromValues(values, fmt.Sprintf("values file %q", path))
	return s, nil
}

// DockerConfig is the Docker/Podman SDR's config.yaml, as far as mirroring
// needs it.
type DockerConfig struct {
	DeploymentName    string         `json:"deployment_name"`
	ObjectStore       any            `json:"objectstore"`
	ContainerRegistry map[string]any `json:"container_registry"`
}

// FromDockerConfig reads the settings of a Docker/Podman SDR from its
// config.yaml, then applies the overrides.
func FromDockerConfig(path string, o Overrides) (*Settings, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("reading SDR config: %w", err)
	}
	var cfg DockerConfig
	if err := yaml.Unmarshal(data, &cfg); err != nil {
		return nil, fmt.Errorf("reading SDR config %q: %w", path, err)
	}
	where := fmt.Sprintf("config %q", path)
	s := newSettings()
	s.apply(o)
	str := func(m map[string]any, k string) string {
		v, _ := m[k].(string)
		return v
	}
	s.set(SettingDeploymentName, &s.DeploymentName, cfg.DeploymentName, where+" at deployment_name")
	s.looked(SettingDeploymentName, where+" (deployment_name)")
	s.set(SettingImageMapPath, &s.ImageMapPath, str(cfg.ContainerRegistry, "image_map_path"), where+" at container_registry.image_map_path")
	s.looked(SettingImageMapPath, where+" (container_registry.image_map_path)")
	s.set(SettingTarget, &s.Target, str(cfg.ContainerRegistry, "base"), where+" at container_registry.base")
	s.looked(SettingTarget, where+" (container_registry.base)")
	s.RegistryUsername = str(cfg.ContainerRegistry, "username")
	s.RegistryPassword = str(cfg.ContainerRegistry, "password")
	if s.Bucket == "" && cfg.ObjectStore != nil {
		c, ok := componentFrom(cfg.ObjectStore, ObjectStoreName)
		if !ok {
			if text, isText := cfg.ObjectStore.(string); isText {
				c, _ = findComponentInValues(map[string]any{ObjectStoreName: text})
				ok = c != nil
			}
		}
		if !ok {
			return nil, fmt.Errorf("reading SDR config %q: objectstore is not a Dapr component (type: bindings.*, metadata: [...]); fix it or pass %s", path, setting.Bucket)
		}
		c.Source = where + " at objectstore"
		s.ObjectStore = c
		s.From[SettingObjectStore] = c.Source
	}
	s.looked(SettingObjectStore, where+" (objectstore)")
	return s, nil
}
