package factory

import (
	"context"
	"errors"
	"fmt"

	"github.com/spf13/pflag"

	"github.com/sdr-mirror/kubectl-sdr-mirror/pkg/cmd/mapflags"
	"github.com/sdr-mirror/kubectl-sdr-mirror/pkg/sdr"
	"github.com/sdr-mirror/kubectl-sdr-mirror/pkg/store"
)

// MapOpener opens maps with this factory's bucket opener, the secrets it
// adopted and its logger.
func (f *Factory) MapOpener() mapflags.Opener {
	return mapflags.Opener{OpenBucket: f.OpenBucket, Secrets: f.Secrets, Logger: f.Logger()}
}

// OpenSettingsMap opens the image map the SDR with settings s reads, the
// flags m overriding: --map, --objectstore-component, the bucket URL, else
// the SDR's Dapr objectstore component (its secretKeyRefs resolved by
// f.Secrets). It returns nil and no error when the SDR reads no map (no
// image map path) and rewrites images to its registry prefix instead.
func (f *Factory) OpenSettingsMap(ctx context.Context, m *mapflags.Flags, s *sdr.Settings) (store.Object, error) {
	switch {
	case m.File != "":
		return store.File(m.File), nil
	case s.ImageMapPath == "":
		if s.Target == "" {
			return nil, s.Require(sdr.SettingImageMapPath)
		}
		return nil, nil
	case m.Component != "":
		withKey := *m
		withKey.Key = s.ImageMapPath
		return withKey.Open(ctx, f.MapOpener())
	case s.Bucket != "":
		return f.OpenBucket(ctx, s.Bucket, s.ImageMapPath, m.StoreOptions()...)
	case s.ObjectStore != nil:
		obj, err := store.OpenComponent(ctx, s.ObjectStore.Store(), s.ImageMapPath, f.Secrets, m.StoreOptions()...)
		if err == nil {
			f.Logger().Debug("opened image map", "url", obj.URL())
		}
		return obj, err
	}
	return nil, s.Require(sdr.SettingObjectStore)
}

// MapLocation is where a map command finds the image map: the map flags
// when they name one, else the map of the installed SDR, read from the
// cluster or from --config/--values.
type MapLocation struct {
	Map    mapflags.Flags
	SDR    SDRFlags
	Source SourceFlags
}

// AddFlags registers the map flags and those locating the SDR.
func (l *MapLocation) AddFlags(fs *pflag.FlagSet) {
	l.Map.AddFlags(fs)
	l.SDR.AddLocateFlags(fs)
	l.Source.AddFlags(fs)
}

// Open opens the map.
func (l *MapLocation) Open(ctx context.Context, f *Factory) (store.Object, error) {
	if l.Map.Bucket != "" && l.Map.Component != "" {
		return nil, errors.New("--bucket cannot be combined with --objectstore-component: give one bucket")
	}
	if l.Map.Explicit() {
		if err := l.Map.Validate(); err != nil {
			return nil, err
		}
		if l.Source.Configured() {
			return nil, errors.New("--config and --values read the SDR's map location; they cannot be combined with a map given by --map, --bucket or --objectstore-component")
		}
		return l.Map.Open(ctx, f.MapOpener())
	}
	var s *sdr.Settings
	if l.Source.Configured() {
		var err error
		if s, err = l.Source.Settings(&l.SDR, &l.Map); err != nil {
			return nil, err
		}
	} else {
		inst, _, err := l.SDR.Find(ctx, f, &l.Map)
		var nc *NoClusterError
		switch {
		case errors.As(err, &nc) && l.Map.Bucket == "" && l.Map.Component == "":
			// The command line says how to run without a cluster.
			return nil, err
		case err != nil && l.Map.Bucket != "":
			return nil, fmt.Errorf("--bucket needs --image-map-path, the object key of the image map (the SDR, which names it, could not be read from the cluster: %w)", err)
		case err != nil && l.Map.Component != "":
			return nil, fmt.Errorf("--objectstore-component needs --image-map-path, the object key of the image map (the SDR, which names it, could not be read from the cluster: %w)", err)
		case err != nil:
			return nil, fmt.Errorf("no image map given, and the SDR's could not be read from the cluster: %w; "+
				"pass -n with the SDR's namespace, or --map FILE, or --bucket URL (or --objectstore-component FILE) with --image-map-path KEY", err)
		}
		f.UseSecrets(inst.Secrets)
		s = inst.Settings
	}
	obj, err := f.OpenSettingsMap(ctx, &l.Map, s)
	if err == nil && obj == nil {
		return nil, fmt.Errorf("the SDR reads no image map (no image map path): it rewrites images to %q; "+
			"set its image map path, or pass --map, --bucket or --objectstore-component with --image-map-path", s.Target)
	}
	return obj, err
}
