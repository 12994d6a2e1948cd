#include <stddef.h>
#include <stdint.h>

// libFuzzer's entry for a program with a main of its own (libclang_rt.fuzzer, linked by
// -sanitize=fuzzer): parses libFuzzer's flags from argv and calls `callback` per input.
int LLVMFuzzerRunDriver(int *argc, char ***argv, int (*callback)(const uint8_t *data, size_t size));
