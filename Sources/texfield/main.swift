import CBLASControl
import TexfieldCLI

// A CSL SignNet epoch spent half its time zeroing fresh pages before this (see the C comment).
tfk_keep_large_blocks_in_heap()
TexfieldCommand.runFromCommandLine()
