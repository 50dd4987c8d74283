package main

// jobCommands lists the job commands (reencrypt, sweep, purge, migrate).
func jobCommands() map[string][]command { return nil }
