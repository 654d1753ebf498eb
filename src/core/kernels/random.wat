;; The random generator of core/random-bits.ts over WebAssembly SIMD: four
;; generator words to a vector (i32x4), two vectors per iteration, written
;; as float32 uniform numbers in [0, 1). i32x4.mul and i32x4.add wrap
;; modulo 2^32 like Math.imul and `>>> 0`; a shift by 16 both ways is the
;; swap of halves; the conversions
;; of 16 and 24 bits to float32 and the scaling by a power of two are exact.
;; So every number has the bits of squares16 / squares32. Pointers are byte
;; offsets into the exported memory.
;;
;; Built by scripts/build-wasm.mjs (wabt) into random-wasm.ts.
(module
  (memory (export "memory") 0)

  ;; The last square of four words' generator: y = counter · key, z = y + key;
  ;; three rounds of x = swap(x·x + w) for w = y, z, y; then x·x + z (its
  ;; swap of halves is left to the caller).
  (func $square (param $counter v128) (param $k v128) (result v128)
    (local $y v128) (local $z v128) (local $x v128)
    (local.set $y (i32x4.mul (local.get $counter) (local.get $k)))
    (local.set $z (i32x4.add (local.get $y) (local.get $k)))
    (local.set $x (i32x4.add (i32x4.mul (local.get $y) (local.get $y)) (local.get $y)))
    (local.set $x (v128.or (i32x4.shl (local.get $x) (i32.const 16)) (i32x4.shr_u (local.get $x) (i32.const 16))))
    (local.set $x (i32x4.add (i32x4.mul (local.get $x) (local.get $x)) (local.get $z)))
    (local.set $x (v128.or (i32x4.shl (local.get $x) (i32.const 16)) (i32x4.shr_u (local.get $x) (i32.const 16))))
    (local.set $x (i32x4.add (i32x4.mul (local.get $x) (local.get $x)) (local.get $y)))
    (local.set $x (v128.or (i32x4.shl (local.get $x) (i32.const 16)) (i32x4.shr_u (local.get $x) (i32.const 16))))
    (i32x4.add (i32x4.mul (local.get $x) (local.get $x)) (local.get $z)))

  ;; n numbers of 16 bits (n a multiple of 8), two per word: number 2i is the
  ;; top half of word i, number 2i + 1 its bottom half. The word is the swap
  ;; of the last square's halves, so its top half is the square's bottom one.
  ;; Eight words per iteration, their two squares interleaved (the generator
  ;; inlined: its multiplications are slow, and two chains hide each other's
  ;; latency), then four. The halves are below 2^16, so the signed
  ;; conversion is exact, and cheaper than the unsigned one.
  (func (export "uniform16") (param $out i32) (param $n i32) (param $key i32)
    (local $at i32) (local $end i32) (local $wide i32) (local $k v128) (local $counter v128)
    (local $x v128) (local $y v128) (local $z v128) (local $x2 v128) (local $y2 v128) (local $z2 v128)
    (local $top v128) (local $bottom v128)
    (local.set $k (i32x4.splat (local.get $key)))
    (local.set $counter (v128.const i32x4 1 2 3 4))
    (local.set $end (i32.shl (local.get $n) (i32.const 2)))
    (local.set $wide (i32.and (local.get $end) (i32.const -64)))
    (block $done
      (loop $next
        (br_if $done (i32.ge_u (local.get $at) (local.get $wide)))
        (local.set $y (i32x4.mul (local.get $counter) (local.get $k)))
        (local.set $y2 (i32x4.mul (i32x4.add (local.get $counter) (v128.const i32x4 4 4 4 4)) (local.get $k)))
        (local.set $z (i32x4.add (local.get $y) (local.get $k)))
        (local.set $z2 (i32x4.add (local.get $y2) (local.get $k)))
        (local.set $x (i32x4.add (i32x4.mul (local.get $y) (local.get $y)) (local.get $y)))
        (local.set $x2 (i32x4.add (i32x4.mul (local.get $y2) (local.get $y2)) (local.get $y2)))
        (local.set $x (v128.or (i32x4.shl (local.get $x) (i32.const 16)) (i32x4.shr_u (local.get $x) (i32.const 16))))
        (local.set $x2 (v128.or (i32x4.shl (local.get $x2) (i32.const 16)) (i32x4.shr_u (local.get $x2) (i32.const 16))))
        (local.set $x (i32x4.add (i32x4.mul (local.get $x) (local.get $x)) (local.get $z)))
        (local.set $x2 (i32x4.add (i32x4.mul (local.get $x2) (local.get $x2)) (local.get $z2)))
        (local.set $x (v128.or (i32x4.shl (local.get $x) (i32.const 16)) (i32x4.shr_u (local.get $x) (i32.const 16))))
        (local.set $x2 (v128.or (i32x4.shl (local.get $x2) (i32.const 16)) (i32x4.shr_u (local.get $x2) (i32.const 16))))
        (local.set $x (i32x4.add (i32x4.mul (local.get $x) (local.get $x)) (local.get $y)))
        (local.set $x2 (i32x4.add (i32x4.mul (local.get $x2) (local.get $x2)) (local.get $y2)))
        (local.set $x (v128.or (i32x4.shl (local.get $x) (i32.const 16)) (i32x4.shr_u (local.get $x) (i32.const 16))))
        (local.set $x2 (v128.or (i32x4.shl (local.get $x2) (i32.const 16)) (i32x4.shr_u (local.get $x2) (i32.const 16))))
        (local.set $x (i32x4.add (i32x4.mul (local.get $x) (local.get $x)) (local.get $z)))
        (local.set $x2 (i32x4.add (i32x4.mul (local.get $x2) (local.get $x2)) (local.get $z2)))
        (local.set $top (f32x4.mul (f32x4.convert_i32x4_s (v128.and (local.get $x) (v128.const i32x4 0xffff 0xffff 0xffff 0xffff)))
                                   (v128.const f32x4 0x1p-16 0x1p-16 0x1p-16 0x1p-16)))
        (local.set $bottom (f32x4.mul (f32x4.convert_i32x4_s (i32x4.shr_u (local.get $x) (i32.const 16)))
                                      (v128.const f32x4 0x1p-16 0x1p-16 0x1p-16 0x1p-16)))
        (v128.store offset=0 (i32.add (local.get $out) (local.get $at))
          (i8x16.shuffle 0 1 2 3 16 17 18 19 4 5 6 7 20 21 22 23 (local.get $top) (local.get $bottom)))
        (v128.store offset=16 (i32.add (local.get $out) (local.get $at))
          (i8x16.shuffle 8 9 10 11 24 25 26 27 12 13 14 15 28 29 30 31 (local.get $top) (local.get $bottom)))
        (local.set $top (f32x4.mul (f32x4.convert_i32x4_s (v128.and (local.get $x2) (v128.const i32x4 0xffff 0xffff 0xffff 0xffff)))
                                   (v128.const f32x4 0x1p-16 0x1p-16 0x1p-16 0x1p-16)))
        (local.set $bottom (f32x4.mul (f32x4.convert_i32x4_s (i32x4.shr_u (local.get $x2) (i32.const 16)))
                                      (v128.const f32x4 0x1p-16 0x1p-16 0x1p-16 0x1p-16)))
        (v128.store offset=32 (i32.add (local.get $out) (local.get $at))
          (i8x16.shuffle 0 1 2 3 16 17 18 19 4 5 6 7 20 21 22 23 (local.get $top) (local.get $bottom)))
        (v128.store offset=48 (i32.add (local.get $out) (local.get $at))
          (i8x16.shuffle 8 9 10 11 24 25 26 27 12 13 14 15 28 29 30 31 (local.get $top) (local.get $bottom)))
        (local.set $counter (i32x4.add (local.get $counter) (v128.const i32x4 8 8 8 8)))
        (local.set $at (i32.add (local.get $at) (i32.const 64)))
        (br $next)))
    (block $done
      (loop $next
        (br_if $done (i32.ge_u (local.get $at) (local.get $end)))
        (local.set $x (call $square (local.get $counter) (local.get $k)))
        (local.set $top (f32x4.mul (f32x4.convert_i32x4_s (v128.and (local.get $x) (v128.const i32x4 0xffff 0xffff 0xffff 0xffff)))
                                   (v128.const f32x4 0x1p-16 0x1p-16 0x1p-16 0x1p-16)))
        (local.set $bottom (f32x4.mul (f32x4.convert_i32x4_s (i32x4.shr_u (local.get $x) (i32.const 16)))
                                      (v128.const f32x4 0x1p-16 0x1p-16 0x1p-16 0x1p-16)))
        (v128.store offset=0 (i32.add (local.get $out) (local.get $at))
          (i8x16.shuffle 0 1 2 3 16 17 18 19 4 5 6 7 20 21 22 23 (local.get $top) (local.get $bottom)))
        (v128.store offset=16 (i32.add (local.get $out) (local.get $at))
          (i8x16.shuffle 8 9 10 11 24 25 26 27 12 13 14 15 28 29 30 31 (local.get $top) (local.get $bottom)))
        (local.set $counter (i32x4.add (local.get $counter) (v128.const i32x4 4 4 4 4)))
        (local.set $at (i32.add (local.get $at) (i32.const 32)))
        (br $next))))

  ;; uniform16's numbers as a Dropout mask, in one pass: number i is scale
  ;; where its 16 bits are at least drops (the uniform number i / 2^16 ≥
  ;; drops / 2^16, the rate), else +0; the lanes take scale's bits or none.
  (func (export "mask16") (param $out i32) (param $n i32) (param $key i32) (param $drops i32) (param $scale f32)
    (local $at i32) (local $end i32) (local $wide i32) (local $k v128) (local $counter v128)
    (local $x v128) (local $y v128) (local $z v128) (local $x2 v128) (local $y2 v128) (local $z2 v128)
    (local $top v128) (local $bottom v128) (local $kv v128) (local $sv v128)
    (local.set $kv (i32x4.splat (local.get $drops)))
    (local.set $sv (f32x4.splat (local.get $scale)))
    (local.set $k (i32x4.splat (local.get $key)))
    (local.set $counter (v128.const i32x4 1 2 3 4))
    (local.set $end (i32.shl (local.get $n) (i32.const 2)))
    (local.set $wide (i32.and (local.get $end) (i32.const -64)))
    (block $done
      (loop $next
        (br_if $done (i32.ge_u (local.get $at) (local.get $wide)))
        (local.set $y (i32x4.mul (local.get $counter) (local.get $k)))
        (local.set $y2 (i32x4.mul (i32x4.add (local.get $counter) (v128.const i32x4 4 4 4 4)) (local.get $k)))
        (local.set $z (i32x4.add (local.get $y) (local.get $k)))
        (local.set $z2 (i32x4.add (local.get $y2) (local.get $k)))
        (local.set $x (i32x4.add (i32x4.mul (local.get $y) (local.get $y)) (local.get $y)))
        (local.set $x2 (i32x4.add (i32x4.mul (local.get $y2) (local.get $y2)) (local.get $y2)))
        (local.set $x (v128.or (i32x4.shl (local.get $x) (i32.const 16)) (i32x4.shr_u (local.get $x) (i32.const 16))))
        (local.set $x2 (v128.or (i32x4.shl (local.get $x2) (i32.const 16)) (i32x4.shr_u (local.get $x2) (i32.const 16))))
        (local.set $x (i32x4.add (i32x4.mul (local.get $x) (local.get $x)) (local.get $z)))
        (local.set $x2 (i32x4.add (i32x4.mul (local.get $x2) (local.get $x2)) (local.get $z2)))
        (local.set $x (v128.or (i32x4.shl (local.get $x) (i32.const 16)) (i32x4.shr_u (local.get $x) (i32.const 16))))
        (local.set $x2 (v128.or (i32x4.shl (local.get $x2) (i32.const 16)) (i32x4.shr_u (local.get $x2) (i32.const 16))))
        (local.set $x (i32x4.add (i32x4.mul (local.get $x) (local.get $x)) (local.get $y)))
        (local.set $x2 (i32x4.add (i32x4.mul (local.get $x2) (local.get $x2)) (local.get $y2)))
        (local.set $x (v128.or (i32x4.shl (local.get $x) (i32.const 16)) (i32x4.shr_u (local.get $x) (i32.const 16))))
        (local.set $x2 (v128.or (i32x4.shl (local.get $x2) (i32.const 16)) (i32x4.shr_u (local.get $x2) (i32.const 16))))
        (local.set $x (i32x4.add (i32x4.mul (local.get $x) (local.get $x)) (local.get $z)))
        (local.set $x2 (i32x4.add (i32x4.mul (local.get $x2) (local.get $x2)) (local.get $z2)))
        (local.set $top (v128.and (i32x4.ge_s (v128.and (local.get $x) (v128.const i32x4 0xffff 0xffff 0xffff 0xffff)) (local.get $kv)) (local.get $sv)))
        (local.set $bottom (v128.and (i32x4.ge_s (i32x4.shr_u (local.get $x) (i32.const 16)) (local.get $kv)) (local.get $sv)))
        (v128.store offset=0 (i32.add (local.get $out) (local.get $at))
          (i8x16.shuffle 0 1 2 3 16 17 18 19 4 5 6 7 20 21 22 23 (local.get $top) (local.get $bottom)))
        (v128.store offset=16 (i32.add (local.get $out) (local.get $at))
          (i8x16.shuffle 8 9 10 11 24 25 26 27 12 13 14 15 28 29 30 31 (local.get $top) (local.get $bottom)))
        (local.set $top (v128.and (i32x4.ge_s (v128.and (local.get $x2) (v128.const i32x4 0xffff 0xffff 0xffff 0xffff)) (local.get $kv)) (local.get $sv)))
        (local.set $bottom (v128.and (i32x4.ge_s (i32x4.shr_u (local.get $x2) (i32.const 16)) (local.get $kv)) (local.get $sv)))
        (v128.store offset=32 (i32.add (local.get $out) (local.get $at))
          (i8x16.shuffle 0 1 2 3 16 17 18 19 4 5 6 7 20 21 22 23 (local.get $top) (local.get $bottom)))
        (v128.store offset=48 (i32.add (local.get $out) (local.get $at))
          (i8x16.shuffle 8 9 10 11 24 25 26 27 12 13 14 15 28 29 30 31 (local.get $top) (local.get $bottom)))
        (local.set $counter (i32x4.add (local.get $counter) (v128.const i32x4 8 8 8 8)))
        (local.set $at (i32.add (local.get $at) (i32.const 64)))
        (br $next)))
    (block $done
      (loop $next
        (br_if $done (i32.ge_u (local.get $at) (local.get $end)))
        (local.set $x (call $square (local.get $counter) (local.get $k)))
        (local.set $top (v128.and (i32x4.ge_s (v128.and (local.get $x) (v128.const i32x4 0xffff 0xffff 0xffff 0xffff)) (local.get $kv)) (local.get $sv)))
        (local.set $bottom (v128.and (i32x4.ge_s (i32x4.shr_u (local.get $x) (i32.const 16)) (local.get $kv)) (local.get $sv)))
        (v128.store offset=0 (i32.add (local.get $out) (local.get $at))
          (i8x16.shuffle 0 1 2 3 16 17 18 19 4 5 6 7 20 21 22 23 (local.get $top) (local.get $bottom)))
        (v128.store offset=16 (i32.add (local.get $out) (local.get $at))
          (i8x16.shuffle 8 9 10 11 24 25 26 27 12 13 14 15 28 29 30 31 (local.get $top) (local.get $bottom)))
        (local.set $counter (i32x4.add (local.get $counter) (v128.const i32x4 4 4 4 4)))
        (local.set $at (i32.add (local.get $at) (i32.const 32)))
        (br $next))))

  ;; n numbers of 24 bits (n a multiple of 4), one per word: its top 24 bits.
  ;; Eight words per iteration, as uniform16, then four; below 2^24, so the
  ;; signed conversion is exact.
  (func (export "uniform24") (param $out i32) (param $n i32) (param $key i32)
    (local $at i32) (local $end i32) (local $wide i32) (local $k v128) (local $counter v128)
    (local $x v128) (local $y v128) (local $z v128) (local $x2 v128) (local $y2 v128) (local $z2 v128)
    (local.set $k (i32x4.splat (local.get $key)))
    (local.set $counter (v128.const i32x4 1 2 3 4))
    (local.set $end (i32.shl (local.get $n) (i32.const 2)))
    (local.set $wide (i32.and (local.get $end) (i32.const -32)))
    (block $done
      (loop $next
        (br_if $done (i32.ge_u (local.get $at) (local.get $wide)))
        (local.set $y (i32x4.mul (local.get $counter) (local.get $k)))
        (local.set $y2 (i32x4.mul (i32x4.add (local.get $counter) (v128.const i32x4 4 4 4 4)) (local.get $k)))
        (local.set $z (i32x4.add (local.get $y) (local.get $k)))
        (local.set $z2 (i32x4.add (local.get $y2) (local.get $k)))
        (local.set $x (i32x4.add (i32x4.mul (local.get $y) (local.get $y)) (local.get $y)))
        (local.set $x2 (i32x4.add (i32x4.mul (local.get $y2) (local.get $y2)) (local.get $y2)))
        (local.set $x (v128.or (i32x4.shl (local.get $x) (i32.const 16)) (i32x4.shr_u (local.get $x) (i32.const 16))))
        (local.set $x2 (v128.or (i32x4.shl (local.get $x2) (i32.const 16)) (i32x4.shr_u (local.get $x2) (i32.const 16))))
        (local.set $x (i32x4.add (i32x4.mul (local.get $x) (local.get $x)) (local.get $z)))
        (local.set $x2 (i32x4.add (i32x4.mul (local.get $x2) (local.get $x2)) (local.get $z2)))
        (local.set $x (v128.or (i32x4.shl (local.get $x) (i32.const 16)) (i32x4.shr_u (local.get $x) (i32.const 16))))
        (local.set $x2 (v128.or (i32x4.shl (local.get $x2) (i32.const 16)) (i32x4.shr_u (local.get $x2) (i32.const 16))))
        (local.set $x (i32x4.add (i32x4.mul (local.get $x) (local.get $x)) (local.get $y)))
        (local.set $x2 (i32x4.add (i32x4.mul (local.get $x2) (local.get $x2)) (local.get $y2)))
        (local.set $x (v128.or (i32x4.shl (local.get $x) (i32.const 16)) (i32x4.shr_u (local.get $x) (i32.const 16))))
        (local.set $x2 (v128.or (i32x4.shl (local.get $x2) (i32.const 16)) (i32x4.shr_u (local.get $x2) (i32.const 16))))
        (local.set $x (i32x4.add (i32x4.mul (local.get $x) (local.get $x)) (local.get $z)))
        (local.set $x2 (i32x4.add (i32x4.mul (local.get $x2) (local.get $x2)) (local.get $z2)))
        ;; The word's top 24 bits: the swapped square shifted right by 8.
        (v128.store offset=0 (i32.add (local.get $out) (local.get $at))
          (f32x4.mul (f32x4.convert_i32x4_s (i32x4.shr_u (v128.or (i32x4.shl (local.get $x) (i32.const 16)) (i32x4.shr_u (local.get $x) (i32.const 16))) (i32.const 8)))
                     (v128.const f32x4 0x1p-24 0x1p-24 0x1p-24 0x1p-24)))
        ;; The word's top 24 bits: the swapped square shifted right by 8.
        (v128.store offset=16 (i32.add (local.get $out) (local.get $at))
          (f32x4.mul (f32x4.convert_i32x4_s (i32x4.shr_u (v128.or (i32x4.shl (local.get $x2) (i32.const 16)) (i32x4.shr_u (local.get $x2) (i32.const 16))) (i32.const 8)))
                     (v128.const f32x4 0x1p-24 0x1p-24 0x1p-24 0x1p-24)))
        (local.set $counter (i32x4.add (local.get $counter) (v128.const i32x4 8 8 8 8)))
        (local.set $at (i32.add (local.get $at) (i32.const 32)))
        (br $next)))
    (block $done
      (loop $next
        (br_if $done (i32.ge_u (local.get $at) (local.get $end)))
        (local.set $x (call $square (local.get $counter) (local.get $k)))
        ;; The word's top 24 bits: the swapped square shifted right by 8.
        (v128.store offset=0 (i32.add (local.get $out) (local.get $at))
          (f32x4.mul (f32x4.convert_i32x4_s (i32x4.shr_u (v128.or (i32x4.shl (local.get $x) (i32.const 16)) (i32x4.shr_u (local.get $x) (i32.const 16))) (i32.const 8)))
                     (v128.const f32x4 0x1p-24 0x1p-24 0x1p-24 0x1p-24)))
        (local.set $counter (i32x4.add (local.get $counter) (v128.const i32x4 4 4 4 4)))
        (local.set $at (i32.add (local.get $at) (i32.const 16)))
        (br $next))))
)
