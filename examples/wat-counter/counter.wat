;; wat-counter: a CVM manuscript written by hand in WebAssembly text, without the SDK.
;; It proves the ABI (manuscript-sdk/ABI.md) can be targeted from any language.
;;
;; Manifest: name "wat-counter", source "kv", dataset "counts".
;; For each KvRecord { key: Vec<u8>, value: Vec<u8> } (SCALE: compact length + bytes, twice) it
;;   - increments the u64 (little-endian, i.e. SCALE u64) under state key "count" and emits it to
;;     "counts" under key "count";
;;   - increments the u64 under state key "key:" ++ record.key and emits it to "counts" under the
;;     same key.
;; Status: 0 ok; 1 the record is not a well-formed KvRecord (bad compact, short, trailing bytes);
;; 3 the record key is longer than 1,020 bytes (its state key would exceed the 1,024 limit).
;;
;; Memory: page 0 holds constants and scratch space, page 1 on is a bump heap for cvm_alloc.
;; The heap is reset when cvm_process returns: the inputs it received are dead by then (ABI.md,
;; "Memory ownership").
(module
  (import "cvm" "state_get" (func $state_get (param i32 i32 i32 i32) (result i32)))
  (import "cvm" "state_set" (func $state_set (param i32 i32 i32 i32)))
  (import "cvm" "emit" (func $emit (param i32 i32 i32 i32 i32 i32)))

  (memory (export "memory") 2)

  ;; Constants.
  (data (i32.const 16) "count")   ;; 5 bytes: total counter key
  (data (i32.const 32) "counts")  ;; 6 bytes: dataset name
  (data (i32.const 48) "key:")    ;; 4 bytes: per-key counter prefix
  ;; Scratch: 64..72 the u64 value buffer; 1024..2048 the per-key state key.
  (global $value_buf i32 (i32.const 64))
  (global $key_buf i32 (i32.const 1024))
  (global $max_record_key i32 (i32.const 1020))

  (global $heap_base i32 (i32.const 65536))
  (global $heap (mut i32) (i32.const 65536))

  ;; cvm_alloc(len) -> ptr: 8-aligned bump allocation, growing memory as needed; 0 when full.
  (func $cvm_alloc (export "cvm_alloc") (param $len i32) (result i32)
    (local $ptr i32) (local $end i32)
    (if (i32.gt_u (local.get $len) (i32.const 0x7fff0000)) (then (return (i32.const 0))))
    (local.set $ptr (i32.and (i32.add (global.get $heap) (i32.const 7)) (i32.const -8)))
    (local.set $end (i32.add (local.get $ptr) (local.get $len)))
    (if (i32.gt_u (local.get $end) (i32.shl (memory.size) (i32.const 16)))
      (then
        (if (i32.eq
              (memory.grow
                (i32.sub
                  (i32.shr_u (i32.add (local.get $end) (i32.const 65535)) (i32.const 16))
                  (memory.size)))
              (i32.const -1))
          (then (return (i32.const 0))))))
    (global.set $heap (local.get $end))
    (local.get $ptr))

  ;; Releases the inputs (resets the heap) and returns the status.
  (func $finish (param $status i32) (result i32)
    (global.set $heap (global.get $heap_base))
    (local.get $status))

  ;; SCALE compact length at $p with $avail bytes readable -> (length, header size), header
  ;; size 0 when malformed. Modes 0, 1 and 2 (lengths below 2^30); mode 3 is not a length here.
  (func $compact (param $p i32) (param $avail i32) (result i32 i32)
    (local $b0 i32) (local $mode i32)
    (if (i32.eqz (local.get $avail)) (then (return (i32.const 0) (i32.const 0))))
    (local.set $b0 (i32.load8_u (local.get $p)))
    (local.set $mode (i32.and (local.get $b0) (i32.const 3)))
    (if (i32.eqz (local.get $mode))
      (then (return (i32.shr_u (local.get $b0) (i32.const 2)) (i32.const 1))))
    (if (i32.eq (local.get $mode) (i32.const 1))
      (then
        (if (i32.lt_u (local.get $avail) (i32.const 2)) (then (return (i32.const 0) (i32.const 0))))
        (return (i32.shr_u (i32.load16_u (local.get $p)) (i32.const 2)) (i32.const 2))))
    (if (i32.eq (local.get $mode) (i32.const 2))
      (then
        (if (i32.lt_u (local.get $avail) (i32.const 4)) (then (return (i32.const 0) (i32.const 0))))
        (return (i32.shr_u (i32.load (local.get $p)) (i32.const 2)) (i32.const 4))))
    (i32.const 0) (i32.const 0))

  ;; Increments the u64 stored under the key (absent = 0), leaving the new value in $value_buf.
  (func $increment (param $key i32) (param $key_len i32)
    (local $found i32)
    (local.set $found
      (call $state_get (local.get $key) (local.get $key_len) (global.get $value_buf) (i32.const 8)))
    (if (i32.eq (local.get $found) (i32.const -1))
      (then (i64.store (global.get $value_buf) (i64.const 0)))
      (else
        ;; Anything but 8 bytes is not a counter this module wrote.
        (if (i32.ne (local.get $found) (i32.const 8)) (then (unreachable)))))
    (i64.store (global.get $value_buf)
      (i64.add (i64.load (global.get $value_buf)) (i64.const 1)))
    (call $state_set (local.get $key) (local.get $key_len) (global.get $value_buf) (i32.const 8)))

  ;; cvm_process(source, record) -> status.
  (func (export "cvm_process")
    (param $source_ptr i32) (param $source_len i32) (param $record_ptr i32) (param $record_len i32)
    (result i32)
    (local $key_len i32) (local $key_hdr i32) (local $key_ptr i32)
    (local $value_len i32) (local $value_hdr i32) (local $rest i32) (local $state_key_len i32)

    ;; Decode KvRecord: key.
    (call $compact (local.get $record_ptr) (local.get $record_len))
    (local.set $key_hdr)
    (local.set $key_len)
    (if (i32.eqz (local.get $key_hdr)) (then (return (call $finish (i32.const 1)))))
    (local.set $rest (i32.sub (local.get $record_len) (local.get $key_hdr)))
    (if (i32.gt_u (local.get $key_len) (local.get $rest)) (then (return (call $finish (i32.const 1)))))
    (local.set $key_ptr (i32.add (local.get $record_ptr) (local.get $key_hdr)))
    (local.set $rest (i32.sub (local.get $rest) (local.get $key_len)))
    ;; Value: must use up the rest of the record exactly.
    (call $compact (i32.add (local.get $key_ptr) (local.get $key_len)) (local.get $rest))
    (local.set $value_hdr)
    (local.set $value_len)
    (if (i32.eqz (local.get $value_hdr)) (then (return (call $finish (i32.const 1)))))
    (if (i32.ne (i32.add (local.get $value_hdr) (local.get $value_len)) (local.get $rest))
      (then (return (call $finish (i32.const 1)))))
    (if (i32.gt_u (local.get $key_len) (global.get $max_record_key))
      (then (return (call $finish (i32.const 3)))))

    ;; Total counter.
    (call $increment (i32.const 16) (i32.const 5))
    (call $emit (i32.const 32) (i32.const 6) (i32.const 16) (i32.const 5)
      (global.get $value_buf) (i32.const 8))

    ;; Per-key counter under "key:" ++ key.
    (i32.store (global.get $key_buf) (i32.load (i32.const 48)))
    (memory.copy (i32.add (global.get $key_buf) (i32.const 4)) (local.get $key_ptr) (local.get $key_len))
    (local.set $state_key_len (i32.add (local.get $key_len) (i32.const 4)))
    (call $increment (global.get $key_buf) (local.get $state_key_len))
    (call $emit (i32.const 32) (i32.const 6) (global.get $key_buf) (local.get $state_key_len)
      (global.get $value_buf) (i32.const 8))

    (call $finish (i32.const 0)))

  ;; The manifest: SCALE of { abi_version: 1, name: "wat-counter", sources: ["kv"],
  ;; datasets: ["counts"] } = 01000000 | 2c "wat-counter" | 04 08 "kv" | 04 18 "counts".
  (@custom "cvm_manifest" "\01\00\00\00\2cwat-counter\04\08kv\04\18counts")
)
