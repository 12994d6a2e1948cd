// The libyaml wrapper lives here.
