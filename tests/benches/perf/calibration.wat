;; The fuel calibration manuscript (tests/benches/perf/calibration.rs): one record = one measured loop.
;; Record: four little-endian i32s (op, n, a, b). `n` is the number of loop iterations; `a` and `b` are op-specific.
;; Every op returns status 0 except `abort`, which traps.
;;
;; Memory (64 KiB pages): 16 dataset name "d"; 64 short key (tag byte + i32); 1024 text for log/abort;
;; 8192 long key (1019 × 'k' + i32 = 1023 bytes); page 1 value buffer; page 2 output buffer; pages 3-4 bulk
;; memory source/destination; page 5 load/store array; page 8 the input buffer handed out by cvm_alloc.
(module
  (import "cvm" "state_get" (func $state_get (param i32 i32 i32 i32) (result i32)))
  (import "cvm" "state_set" (func $state_set (param i32 i32 i32 i32)))
  (import "cvm" "state_remove" (func $state_remove (param i32 i32)))
  (import "cvm" "state_next_key" (func $state_next_key (param i32 i32 i32 i32 i32 i32) (result i32)))
  (import "cvm" "emit" (func $emit (param i32 i32 i32 i32 i32 i32)))
  (import "cvm" "block_height" (func $block_height (result i64)))
  (import "cvm" "log" (func $log (param i32 i32 i32)))
  (import "cvm" "abort" (func $abort (param i32 i32 i32 i32 i32 i32)))

  ;; abi 1, name "fuel-calibration", sources ["calib"], datasets ["d"]
  (@custom "cvm_manifest" "\01\00\00\00\40fuel-calibration\04\14calib\04\04d")

  (memory (export "memory") 9)
  (data (i32.const 16) "d")

  (type $binop (func (param i32 i32) (result i32)))
  (table 1 funcref)
  (elem (i32.const 0) $leaf)

  (global $short_key i32 (i32.const 64))
  (global $text i32 (i32.const 1024))
  (global $long_key i32 (i32.const 8192))
  (global $value i32 (i32.const 65536))
  (global $out i32 (i32.const 131072))
  (global $bulk_src i32 (i32.const 196608))
  (global $bulk_dst i32 (i32.const 262144))
  (global $array i32 (i32.const 327680))

  ;; The host writes (source, record) here; both are tiny.
  (func (export "cvm_alloc") (param i32) (result i32) (i32.const 524288))

  ;; Short key: tag byte then the i32 index.
  (func $short_key (param $tag i32) (param $i i32)
    (i32.store8 (global.get $short_key) (local.get $tag))
    (i32.store offset=1 (global.get $short_key) (local.get $i)))

  ;; Long key: 1019 'k' bytes then the i32 index.
  (func $long_key (param $i i32)
    (i32.store offset=1019 (global.get $long_key) (local.get $i)))

  (func $leaf (param $a i32) (param $b i32) (result i32)
    (i32.add (i32.mul (local.get $a) (i32.const 31)) (local.get $b)))

  ;; op 1: integer ALU.
  (func $arith (param $n i32)
    (local $i i32) (local $x i64)
    (local.set $x (i64.const 1))
    (block $done (loop $top
      (br_if $done (i32.ge_u (local.get $i) (local.get $n)))
      (local.set $x (i64.add (i64.mul (local.get $x) (i64.const 0x9E3779B97F4A7C15))
                             (i64.extend_i32_u (local.get $i))))
      (local.set $x (i64.xor (local.get $x) (i64.shr_u (local.get $x) (i64.const 29))))
      (local.set $x (i64.rotl (local.get $x) (i64.const 7)))
      (local.set $i (i32.add (local.get $i) (i32.const 1)))
      (br $top)))
    (i64.store (i32.const 0) (local.get $x)))

  ;; op 2: loads and stores spread over a 64 KiB array.
  (func $memory (param $n i32)
    (local $i i32)
    (block $done (loop $top
      (br_if $done (i32.ge_u (local.get $i) (local.get $n)))
      (i32.store
        (i32.add (global.get $array) (i32.and (i32.mul (local.get $i) (i32.const 132)) (i32.const 0xfffc)))
        (i32.add
          (i32.load (i32.add (global.get $array) (i32.and (i32.mul (local.get $i) (i32.const 68)) (i32.const 0xfffc))))
          (local.get $i)))
      (local.set $i (i32.add (local.get $i) (i32.const 1)))
      (br $top))))

  ;; op 3: direct calls.
  (func $calls (param $n i32)
    (local $i i32) (local $acc i32)
    (block $done (loop $top
      (br_if $done (i32.ge_u (local.get $i) (local.get $n)))
      (local.set $acc (call $leaf (local.get $acc) (local.get $i)))
      (local.set $i (i32.add (local.get $i) (i32.const 1)))
      (br $top)))
    (i32.store (i32.const 0) (local.get $acc)))

  ;; op 4: indirect calls through the table.
  (func $indirect (param $n i32)
    (local $i i32) (local $acc i32)
    (block $done (loop $top
      (br_if $done (i32.ge_u (local.get $i) (local.get $n)))
      (local.set $acc (call_indirect (type $binop) (local.get $acc) (local.get $i) (i32.const 0)))
      (local.set $i (i32.add (local.get $i) (i32.const 1)))
      (br $top)))
    (i32.store (i32.const 0) (local.get $acc)))

  ;; op 5: memory.copy of `a` bytes.
  (func $copy (param $n i32) (param $a i32)
    (local $i i32)
    (block $done (loop $top
      (br_if $done (i32.ge_u (local.get $i) (local.get $n)))
      (memory.copy (global.get $bulk_dst) (global.get $bulk_src) (local.get $a))
      (local.set $i (i32.add (local.get $i) (i32.const 1)))
      (br $top))))

  ;; op 6: memory.fill of `a` bytes.
  (func $fill (param $n i32) (param $a i32)
    (local $i i32)
    (block $done (loop $top
      (br_if $done (i32.ge_u (local.get $i) (local.get $n)))
      (memory.fill (global.get $bulk_dst) (local.get $i) (local.get $a))
      (local.set $i (i32.add (local.get $i) (i32.const 1)))
      (br $top))))

  ;; op 10: state_get of key (tag a, i mod b) into a 64 KiB buffer.
  (func $get (param $n i32) (param $tag i32) (param $m i32)
    (local $i i32) (local $acc i32)
    (block $done (loop $top
      (br_if $done (i32.ge_u (local.get $i) (local.get $n)))
      (call $short_key (local.get $tag) (i32.rem_u (local.get $i) (local.get $m)))
      (local.set $acc (i32.add (local.get $acc)
        (call $state_get (global.get $short_key) (i32.const 5) (global.get $out) (i32.const 65536))))
      (local.set $i (i32.add (local.get $i) (i32.const 1)))
      (br $top)))
    (i32.store (i32.const 0) (local.get $acc)))

  ;; op 12: state_set of new keys ('n', b + i) to values of `a` bytes.
  (func $set (param $n i32) (param $len i32) (param $base i32)
    (local $i i32)
    (block $done (loop $top
      (br_if $done (i32.ge_u (local.get $i) (local.get $n)))
      (call $short_key (i32.const 0x6e) (i32.add (local.get $base) (local.get $i)))
      (i32.store (global.get $value) (local.get $i))
      (call $state_set (global.get $short_key) (i32.const 5) (global.get $value) (local.get $len))
      (local.set $i (i32.add (local.get $i) (i32.const 1)))
      (br $top))))

  ;; op 13: state_remove of existing keys ('a', i mod b).
  (func $remove (param $n i32) (param $m i32)
    (local $i i32)
    (block $done (loop $top
      (br_if $done (i32.ge_u (local.get $i) (local.get $n)))
      (call $short_key (i32.const 0x61) (i32.rem_u (local.get $i) (local.get $m)))
      (call $state_remove (global.get $short_key) (i32.const 5))
      (local.set $i (i32.add (local.get $i) (i32.const 1)))
      (br $top))))

  ;; op 14: walk the keys with a prefix (a = 0: the 1-byte prefix 'a'; a = 1: the 1019-byte long-key prefix),
  ;; each found key being the `after` of the next call (the output buffer doubles as `after`).
  (func $next_key (param $n i32) (param $long i32)
    (local $i i32) (local $after i32) (local $prefix i32) (local $prefix_len i32)
    (local.set $after (i32.const -1))
    (local.set $prefix (global.get $short_key))
    (local.set $prefix_len (i32.const 1))
    (i32.store8 (global.get $short_key) (i32.const 0x61))
    (if (local.get $long) (then
      (local.set $prefix (global.get $long_key))
      (local.set $prefix_len (i32.const 1019))))
    (block $done (loop $top
      (br_if $done (i32.ge_u (local.get $i) (local.get $n)))
      (local.set $after (call $state_next_key (local.get $prefix) (local.get $prefix_len)
        (global.get $out) (local.get $after) (global.get $out) (i32.const 1024)))
      (local.set $i (i32.add (local.get $i) (i32.const 1)))
      (br $top))))

  ;; op 15: emit records ('e', i) of `a` bytes into dataset "d".
  (func $emit_loop (param $n i32) (param $len i32)
    (local $i i32)
    (block $done (loop $top
      (br_if $done (i32.ge_u (local.get $i) (local.get $n)))
      (call $short_key (i32.const 0x65) (local.get $i))
      (i32.store (global.get $value) (local.get $i))
      (call $emit (i32.const 16) (i32.const 1) (global.get $short_key) (i32.const 5)
        (global.get $value) (local.get $len))
      (local.set $i (i32.add (local.get $i) (i32.const 1)))
      (br $top))))

  ;; op 16: block_height.
  (func $height (param $n i32)
    (local $i i32) (local $acc i64)
    (block $done (loop $top
      (br_if $done (i32.ge_u (local.get $i) (local.get $n)))
      (local.set $acc (i64.add (local.get $acc) (call $block_height)))
      (local.set $i (i32.add (local.get $i) (i32.const 1)))
      (br $top)))
    (i64.store (i32.const 0) (local.get $acc)))

  ;; op 17: debug-level log lines of `a` bytes.
  (func $log_loop (param $n i32) (param $len i32)
    (local $i i32)
    (block $done (loop $top
      (br_if $done (i32.ge_u (local.get $i) (local.get $n)))
      (call $log (i32.const 3) (global.get $text) (local.get $len))
      (local.set $i (i32.add (local.get $i) (i32.const 1)))
      (br $top))))

  ;; op 19: setup: n keys of each kind: ('a', i) -> 32 bytes, ('b', i) -> `a` bytes, long key i -> 32 bytes.
  (func $setup (param $n i32) (param $len i32)
    (local $i i32)
    (block $done (loop $top
      (br_if $done (i32.ge_u (local.get $i) (local.get $n)))
      (i32.store (global.get $value) (local.get $i))
      (call $short_key (i32.const 0x61) (local.get $i))
      (call $state_set (global.get $short_key) (i32.const 5) (global.get $value) (i32.const 32))
      (call $short_key (i32.const 0x62) (local.get $i))
      (call $state_set (global.get $short_key) (i32.const 5) (global.get $value) (local.get $len))
      (call $long_key (local.get $i))
      (call $state_set (global.get $long_key) (i32.const 1023) (global.get $value) (i32.const 32))
      (local.set $i (i32.add (local.get $i) (i32.const 1)))
      (br $top))))

  (func (export "cvm_process") (param $src i32) (param $src_len i32) (param $rec i32) (param $rec_len i32)
    (result i32)
    (local $op i32) (local $n i32) (local $a i32) (local $b i32)
    (if (i32.ne (local.get $rec_len) (i32.const 16)) (then (return (i32.const 1))))
    (local.set $op (i32.load (local.get $rec)))
    (local.set $n (i32.load offset=4 (local.get $rec)))
    (local.set $a (i32.load offset=8 (local.get $rec)))
    (local.set $b (i32.load offset=12 (local.get $rec)))
    (memory.fill (global.get $long_key) (i32.const 0x6b) (i32.const 1019))
    (block $unknown
      (block $b19 (block $b18 (block $b17 (block $b16 (block $b15 (block $b14 (block $b13 (block $b12
      (block $b11 (block $b10 (block $b9 (block $b8 (block $b7 (block $b6 (block $b5 (block $b4 (block $b3
      (block $b2 (block $b1 (block $b0
        (br_table $b0 $b1 $b2 $b3 $b4 $b5 $b6 $b7 $b8 $b9 $b10 $b11 $b12 $b13 $b14 $b15 $b16 $b17 $b18 $b19
          $unknown (local.get $op)))
        (return (i32.const 0)))                                                    ;; 0 no-op
        (call $arith (local.get $n)) (return (i32.const 0)))                       ;; 1
        (call $memory (local.get $n)) (return (i32.const 0)))                      ;; 2
        (call $calls (local.get $n)) (return (i32.const 0)))                       ;; 3
        (call $indirect (local.get $n)) (return (i32.const 0)))                    ;; 4
        (call $copy (local.get $n) (local.get $a)) (return (i32.const 0)))         ;; 5
        (call $fill (local.get $n) (local.get $a)) (return (i32.const 0)))         ;; 6
        (br $unknown))                                                             ;; 7
        (br $unknown))                                                             ;; 8
        (br $unknown))                                                             ;; 9
        (call $get (local.get $n) (local.get $a) (local.get $b)) (return (i32.const 0)))  ;; 10
        (br $unknown))                                                             ;; 11
        (call $set (local.get $n) (local.get $a) (local.get $b)) (return (i32.const 0)))  ;; 12
        (call $remove (local.get $n) (local.get $b)) (return (i32.const 0)))       ;; 13
        (call $next_key (local.get $n) (local.get $a)) (return (i32.const 0)))     ;; 14
        (call $emit_loop (local.get $n) (local.get $a)) (return (i32.const 0)))    ;; 15
        (call $height (local.get $n)) (return (i32.const 0)))                      ;; 16
        (call $log_loop (local.get $n) (local.get $a)) (return (i32.const 0)))     ;; 17
        (call $abort (global.get $text) (local.get $a) (global.get $text) (i32.const 0)
          (i32.const 1) (i32.const 1))
        (unreachable))                                                             ;; 18
        (call $setup (local.get $n) (local.get $a)) (return (i32.const 0)))        ;; 19
    (i32.const 3))
)
