/*
 * A JSON-aware mutation for libFuzzer's custom mutator hook, shared by the
 * JSON harnesses. Byte-level mutations (libFuzzer's own, with the dictionary
 * and comparison hints) rarely keep a document valid, and never grow one
 * string past a fixed buffer or nest hundreds of levels deep; this parses
 * the input, changes one node of the tree (an extreme number, a string
 * repeated to a buffer-sized length, a value wrapped in deep nesting, an
 * element repeated, a member dropped, a subtree copied over another, a type
 * swapped) and prints it again. One call in two, and whenever the input is
 * not JSON or the result too long, it is libFuzzer's own mutation instead. Deterministic for a
 * given seed (scripts/fuzz's -seed=1 runs stay reproducible).
 *
 * Use from a harness:
 *   size_t LLVMFuzzerCustomMutator(uint8_t *data, size_t size, size_t max_size, unsigned seed)
 *   {
 *       return fuzz_json_mutate(data, size, max_size, seed, 0);
 *   }
 * `prefix`: bytes before the document that are left alone (a signal byte).
 */
#ifndef FUZZ_JSON_MUTATOR_H
#define FUZZ_JSON_MUTATOR_H

#include <stddef.h>
#include <stdint.h>

size_t LLVMFuzzerCustomMutator(uint8_t *data, size_t size, size_t max_size, unsigned int seed);
size_t LLVMFuzzerMutate(uint8_t *data, size_t size, size_t max_size);

size_t fuzz_json_mutate(uint8_t *data, size_t size, size_t max_size, unsigned seed, size_t prefix);

#endif
