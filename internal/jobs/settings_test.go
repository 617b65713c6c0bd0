package jobs

import "testing"

// TestSettingsCoverKeys: `check -v` shows every job key (the password as
// where it comes from), so a key added to tomlJob without a row in
// Settings fails here.
func TestSettingsCoverKeys(t *testing.T) {
	j := Default()
	shown := map[string]bool{}
	for _, s := range j.Settings() {
		shown[s.Key] = true
	}
	for _, k := range Keys {
		if k == "password_env" || k == "password_file" {
			k = "password"
		}
		if !shown[k] {
			t.Errorf("job key %s is not in Settings", k)
		}
	}
}
