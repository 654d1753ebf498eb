;; SIMD kernels of the standalone optimizer steps (Lion, AdamW) and of
;; clipGradNorm, for float32 (f32x4) and float64 (f64x2). Each updates n
;; elements in place, n a multiple of the vector width; the caller runs the
;; tail in JavaScript. Every lane performs the operations of the JavaScript
;; loops in src/optim/lion.ts, src/optim/adamw.ts and src/optim/clip-grad.ts
;; in the same order, each rounded
;; to the element type as those loops round, so the results are
;; bit-identical. Pointers are byte offsets into the exported memory.
;;
;; Built by scripts/build-wasm.mjs (wabt) into optim-wasm.ts.
(module
  (memory (export "memory") 9)

  ;; Lion: c = b1·m + c1·g; p = p·decay − lr·sign(c); m = b2·m + c2·g.
  ;; lr·sign(c) is a select of lr, −lr or 0 (sign(NaN) is 0, as signOf).
  ;; It also raises pmax and mmax to the largest bit pattern of |p| and |m|
  ;; it writes (the sign bit cleared, compared unsigned: the order of the
  ;; magnitudes, with ±Inf at 0x7f800000 and NaN above it); the caller zeroes
  ;; and reads them. The Trainer learns from them that its next step cannot
  ;; overflow (src/optim/lion.ts, lionProvenFinite).
  (global $pmax (export "pmax") (mut i32) (i32.const 0))
  (global $mmax (export "mmax") (mut i32) (i32.const 0))

  ;; The largest of a's four lanes and prev, all unsigned.
  (func $maxLane (param $a v128) (param $prev i32) (result i32)
    (local $x i32) (local $y i32)
    (local.set $a (i32x4.max_u (local.get $a) (i8x16.shuffle 8 9 10 11 12 13 14 15 0 1 2 3 4 5 6 7 (local.get $a) (local.get $a))))
    (local.set $x (i32x4.extract_lane 0 (local.get $a)))
    (local.set $y (i32x4.extract_lane 1 (local.get $a)))
    (local.set $x (select (local.get $x) (local.get $y) (i32.gt_u (local.get $x) (local.get $y))))
    (select (local.get $x) (local.get $prev) (i32.gt_u (local.get $x) (local.get $prev))))

  (func (export "lion32") (param $p i32) (param $g i32) (param $m i32) (param $n i32)
        (param $b1 f32) (param $c1 f32) (param $b2 f32) (param $c2 f32) (param $lr f32) (param $decay f32)
    (local $at i32) (local $end i32) (local $wide i32) (local $q i32) (local $vb1 v128) (local $vc1 v128) (local $vb2 v128) (local $vc2 v128)
    (local $vlr v128) (local $vnlr v128) (local $vdecay v128) (local $zero v128) (local $abs v128)
    (local $mv v128) (local $gv v128) (local $c v128) (local $x v128) (local $y v128) (local $pm v128) (local $mm v128)
    (local.set $vb1 (f32x4.splat (local.get $b1)))
    (local.set $vc1 (f32x4.splat (local.get $c1)))
    (local.set $vb2 (f32x4.splat (local.get $b2)))
    (local.set $vc2 (f32x4.splat (local.get $c2)))
    (local.set $vlr (f32x4.splat (local.get $lr)))
    (local.set $vnlr (f32x4.neg (local.get $vlr)))
    (local.set $vdecay (f32x4.splat (local.get $decay)))
    (local.set $zero (f32x4.splat (f32.const 0)))
    (local.set $abs (i32x4.splat (i32.const 0x7fffffff)))
    (local.set $end (i32.shl (local.get $n) (i32.const 2)))
    (local.set $wide (i32.and (local.get $end) (i32.const -32)))
    ;; Two vectors per iteration, then one.
    (block $done
      (loop $next
        (br_if $done (i32.ge_u (local.get $at) (local.get $wide)))
        (local.set $q (i32.add (local.get $p) (local.get $at)))
        (local.set $mv (v128.load offset=0 (i32.add (local.get $m) (local.get $at))))
        (local.set $gv (v128.load offset=0 (i32.add (local.get $g) (local.get $at))))
        (local.set $c (f32x4.add (f32x4.mul (local.get $vb1) (local.get $mv)) (f32x4.mul (local.get $vc1) (local.get $gv))))
        (local.set $x
          (f32x4.sub (f32x4.mul (v128.load offset=0 (local.get $q)) (local.get $vdecay))
            (v128.or (v128.and (f32x4.gt (local.get $c) (local.get $zero)) (local.get $vlr))
                     (v128.and (f32x4.lt (local.get $c) (local.get $zero)) (local.get $vnlr)))))
        (local.set $y (f32x4.add (f32x4.mul (local.get $vb2) (local.get $mv)) (f32x4.mul (local.get $vc2) (local.get $gv))))
        (v128.store offset=0 (local.get $q) (local.get $x))
        (v128.store offset=0 (i32.add (local.get $m) (local.get $at)) (local.get $y))
        (local.set $pm (i32x4.max_u (local.get $pm) (v128.and (local.get $x) (local.get $abs))))
        (local.set $mm (i32x4.max_u (local.get $mm) (v128.and (local.get $y) (local.get $abs))))
        (local.set $q (i32.add (local.get $p) (local.get $at)))
        (local.set $mv (v128.load offset=16 (i32.add (local.get $m) (local.get $at))))
        (local.set $gv (v128.load offset=16 (i32.add (local.get $g) (local.get $at))))
        (local.set $c (f32x4.add (f32x4.mul (local.get $vb1) (local.get $mv)) (f32x4.mul (local.get $vc1) (local.get $gv))))
        (local.set $x
          (f32x4.sub (f32x4.mul (v128.load offset=16 (local.get $q)) (local.get $vdecay))
            (v128.or (v128.and (f32x4.gt (local.get $c) (local.get $zero)) (local.get $vlr))
                     (v128.and (f32x4.lt (local.get $c) (local.get $zero)) (local.get $vnlr)))))
        (local.set $y (f32x4.add (f32x4.mul (local.get $vb2) (local.get $mv)) (f32x4.mul (local.get $vc2) (local.get $gv))))
        (v128.store offset=16 (local.get $q) (local.get $x))
        (v128.store offset=16 (i32.add (local.get $m) (local.get $at)) (local.get $y))
        (local.set $pm (i32x4.max_u (local.get $pm) (v128.and (local.get $x) (local.get $abs))))
        (local.set $mm (i32x4.max_u (local.get $mm) (v128.and (local.get $y) (local.get $abs))))
        (local.set $at (i32.add (local.get $at) (i32.const 32)))
        (br $next)))
    (block $done
      (loop $next
        (br_if $done (i32.ge_u (local.get $at) (local.get $end)))
        (local.set $q (i32.add (local.get $p) (local.get $at)))
        (local.set $mv (v128.load offset=0 (i32.add (local.get $m) (local.get $at))))
        (local.set $gv (v128.load offset=0 (i32.add (local.get $g) (local.get $at))))
        (local.set $c (f32x4.add (f32x4.mul (local.get $vb1) (local.get $mv)) (f32x4.mul (local.get $vc1) (local.get $gv))))
        (local.set $x
          (f32x4.sub (f32x4.mul (v128.load offset=0 (local.get $q)) (local.get $vdecay))
            (v128.or (v128.and (f32x4.gt (local.get $c) (local.get $zero)) (local.get $vlr))
                     (v128.and (f32x4.lt (local.get $c) (local.get $zero)) (local.get $vnlr)))))
        (local.set $y (f32x4.add (f32x4.mul (local.get $vb2) (local.get $mv)) (f32x4.mul (local.get $vc2) (local.get $gv))))
        (v128.store offset=0 (local.get $q) (local.get $x))
        (v128.store offset=0 (i32.add (local.get $m) (local.get $at)) (local.get $y))
        (local.set $pm (i32x4.max_u (local.get $pm) (v128.and (local.get $x) (local.get $abs))))
        (local.set $mm (i32x4.max_u (local.get $mm) (v128.and (local.get $y) (local.get $abs))))
        (local.set $at (i32.add (local.get $at) (i32.const 16)))
        (br $next)))
    (global.set $pmax (call $maxLane (local.get $pm) (global.get $pmax)))
    (global.set $mmax (call $maxLane (local.get $mm) (global.get $mmax))))

  (func (export "lion64") (param $p i32) (param $g i32) (param $m i32) (param $n i32)
        (param $b1 f64) (param $c1 f64) (param $b2 f64) (param $c2 f64) (param $lr f64) (param $decay f64)
    (local $at i32) (local $end i32) (local $wide i32) (local $q i32) (local $vb1 v128) (local $vc1 v128) (local $vb2 v128) (local $vc2 v128)
    (local $vlr v128) (local $vnlr v128) (local $vdecay v128) (local $zero v128)
    (local $pv v128) (local $gv v128) (local $mv v128) (local $c v128)
    (local.set $vb1 (f64x2.splat (local.get $b1)))
    (local.set $vc1 (f64x2.splat (local.get $c1)))
    (local.set $vb2 (f64x2.splat (local.get $b2)))
    (local.set $vc2 (f64x2.splat (local.get $c2)))
    (local.set $vlr (f64x2.splat (local.get $lr)))
    (local.set $vnlr (f64x2.neg (local.get $vlr)))
    (local.set $vdecay (f64x2.splat (local.get $decay)))
    (local.set $zero (f64x2.splat (f64.const 0)))
    (local.set $end (i32.shl (local.get $n) (i32.const 3)))
    (local.set $wide (i32.and (local.get $end) (i32.const -32)))
    ;; Two vectors per iteration, then one.
    (block $done
      (loop $next
        (br_if $done (i32.ge_u (local.get $at) (local.get $wide)))
        (local.set $q (i32.add (local.get $p) (local.get $at)))
        (local.set $pv (v128.load offset=0 (local.get $q)))
        (local.set $mv (v128.load offset=0 (i32.add (local.get $m) (local.get $at))))
        (local.set $gv (v128.load offset=0 (i32.add (local.get $g) (local.get $at))))
        (local.set $c (f64x2.add (f64x2.mul (local.get $vb1) (local.get $mv)) (f64x2.mul (local.get $vc1) (local.get $gv))))
        (v128.store offset=0 (local.get $q)
          (f64x2.sub (f64x2.mul (local.get $pv) (local.get $vdecay))
            (v128.or (v128.and (f64x2.gt (local.get $c) (local.get $zero)) (local.get $vlr))
                     (v128.and (f64x2.lt (local.get $c) (local.get $zero)) (local.get $vnlr)))))
        (v128.store offset=0 (i32.add (local.get $m) (local.get $at))
          (f64x2.add (f64x2.mul (local.get $vb2) (local.get $mv)) (f64x2.mul (local.get $vc2) (local.get $gv))))
        (local.set $pv (v128.load offset=16 (local.get $q)))
        (local.set $mv (v128.load offset=16 (i32.add (local.get $m) (local.get $at))))
        (local.set $gv (v128.load offset=16 (i32.add (local.get $g) (local.get $at))))
        (local.set $c (f64x2.add (f64x2.mul (local.get $vb1) (local.get $mv)) (f64x2.mul (local.get $vc1) (local.get $gv))))
        (v128.store offset=16 (local.get $q)
          (f64x2.sub (f64x2.mul (local.get $pv) (local.get $vdecay))
            (v128.or (v128.and (f64x2.gt (local.get $c) (local.get $zero)) (local.get $vlr))
                     (v128.and (f64x2.lt (local.get $c) (local.get $zero)) (local.get $vnlr)))))
        (v128.store offset=16 (i32.add (local.get $m) (local.get $at))
          (f64x2.add (f64x2.mul (local.get $vb2) (local.get $mv)) (f64x2.mul (local.get $vc2) (local.get $gv))))
        (local.set $at (i32.add (local.get $at) (i32.const 32)))
        (br $next)))
    (block $done
      (loop $next
        (br_if $done (i32.ge_u (local.get $at) (local.get $end)))
        (local.set $q (i32.add (local.get $p) (local.get $at)))
        (local.set $pv (v128.load offset=0 (local.get $q)))
        (local.set $mv (v128.load offset=0 (i32.add (local.get $m) (local.get $at))))
        (local.set $gv (v128.load offset=0 (i32.add (local.get $g) (local.get $at))))
        (local.set $c (f64x2.add (f64x2.mul (local.get $vb1) (local.get $mv)) (f64x2.mul (local.get $vc1) (local.get $gv))))
        (v128.store offset=0 (local.get $q)
          (f64x2.sub (f64x2.mul (local.get $pv) (local.get $vdecay))
            (v128.or (v128.and (f64x2.gt (local.get $c) (local.get $zero)) (local.get $vlr))
                     (v128.and (f64x2.lt (local.get $c) (local.get $zero)) (local.get $vnlr)))))
        (v128.store offset=0 (i32.add (local.get $m) (local.get $at))
          (f64x2.add (f64x2.mul (local.get $vb2) (local.get $mv)) (f64x2.mul (local.get $vc2) (local.get $gv))))
        (local.set $at (i32.add (local.get $at) (i32.const 16)))
        (br $next))))

  ;; Whether lion32 over the same arrays would give only finite values,
  ;; reading them without writing anything: the new p and m, computed as
  ;; lion32 computes them, each minus itself, ORed together are 0 only when
  ;; all are finite. Returns 1 when they are. Stepping only after this check
  ;; needs no copy of the arrays to try the step on.
  (func (export "lion32check") (param $p i32) (param $g i32) (param $m i32) (param $n i32)
        (param $b1 f32) (param $c1 f32) (param $b2 f32) (param $c2 f32) (param $lr f32) (param $decay f32) (result i32)
    (local $at i32) (local $end i32) (local $vb1 v128) (local $vc1 v128) (local $vb2 v128) (local $vc2 v128)
    (local $vlr v128) (local $vnlr v128) (local $vdecay v128) (local $zero v128)
    (local $pv v128) (local $gv v128) (local $mv v128) (local $c v128) (local $x v128) (local $y v128) (local $bad v128)
    (local.set $vb1 (f32x4.splat (local.get $b1)))
    (local.set $vc1 (f32x4.splat (local.get $c1)))
    (local.set $vb2 (f32x4.splat (local.get $b2)))
    (local.set $vc2 (f32x4.splat (local.get $c2)))
    (local.set $vlr (f32x4.splat (local.get $lr)))
    (local.set $vnlr (f32x4.neg (local.get $vlr)))
    (local.set $vdecay (f32x4.splat (local.get $decay)))
    (local.set $zero (f32x4.splat (f32.const 0)))
    (local.set $end (i32.shl (local.get $n) (i32.const 2)))
    (block $done
      (loop $next
        (br_if $done (i32.ge_u (local.get $at) (local.get $end)))
        (local.set $pv (v128.load (i32.add (local.get $p) (local.get $at))))
        (local.set $mv (v128.load (i32.add (local.get $m) (local.get $at))))
        (local.set $gv (v128.load (i32.add (local.get $g) (local.get $at))))
        (local.set $c (f32x4.add (f32x4.mul (local.get $vb1) (local.get $mv)) (f32x4.mul (local.get $vc1) (local.get $gv))))
        (local.set $x
          (f32x4.sub (f32x4.mul (local.get $pv) (local.get $vdecay))
            (v128.or (v128.and (f32x4.gt (local.get $c) (local.get $zero)) (local.get $vlr))
                     (v128.and (f32x4.lt (local.get $c) (local.get $zero)) (local.get $vnlr)))))
        (local.set $y (f32x4.add (f32x4.mul (local.get $vb2) (local.get $mv)) (f32x4.mul (local.get $vc2) (local.get $gv))))
        (local.set $bad (v128.or (local.get $bad) (v128.or (f32x4.sub (local.get $x) (local.get $x)) (f32x4.sub (local.get $y) (local.get $y)))))
        (local.set $at (i32.add (local.get $at) (i32.const 16)))
        (br $next)))
    (i32.eqz (v128.any_true (local.get $bad))))

  ;; Whether lion64 over the same arrays would give only finite values,
  ;; reading them without writing anything: the new p and m, computed as
  ;; lion64 computes them, each minus itself, ORed together are 0 only when
  ;; all are finite. Returns 1 when they are. Stepping only after this check
  ;; needs no copy of the arrays to try the step on.
  (func (export "lion64check") (param $p i32) (param $g i32) (param $m i32) (param $n i32)
        (param $b1 f64) (param $c1 f64) (param $b2 f64) (param $c2 f64) (param $lr f64) (param $decay f64) (result i32)
    (local $at i32) (local $end i32) (local $vb1 v128) (local $vc1 v128) (local $vb2 v128) (local $vc2 v128)
    (local $vlr v128) (local $vnlr v128) (local $vdecay v128) (local $zero v128)
    (local $pv v128) (local $gv v128) (local $mv v128) (local $c v128) (local $x v128) (local $y v128) (local $bad v128)
    (local.set $vb1 (f64x2.splat (local.get $b1)))
    (local.set $vc1 (f64x2.splat (local.get $c1)))
    (local.set $vb2 (f64x2.splat (local.get $b2)))
    (local.set $vc2 (f64x2.splat (local.get $c2)))
    (local.set $vlr (f64x2.splat (local.get $lr)))
    (local.set $vnlr (f64x2.neg (local.get $vlr)))
    (local.set $vdecay (f64x2.splat (local.get $decay)))
    (local.set $zero (f64x2.splat (f64.const 0)))
    (local.set $end (i32.shl (local.get $n) (i32.const 3)))
    (block $done
      (loop $next
        (br_if $done (i32.ge_u (local.get $at) (local.get $end)))
        (local.set $pv (v128.load (i32.add (local.get $p) (local.get $at))))
        (local.set $mv (v128.load (i32.add (local.get $m) (local.get $at))))
        (local.set $gv (v128.load (i32.add (local.get $g) (local.get $at))))
        (local.set $c (f64x2.add (f64x2.mul (local.get $vb1) (local.get $mv)) (f64x2.mul (local.get $vc1) (local.get $gv))))
        (local.set $x
          (f64x2.sub (f64x2.mul (local.get $pv) (local.get $vdecay))
            (v128.or (v128.and (f64x2.gt (local.get $c) (local.get $zero)) (local.get $vlr))
                     (v128.and (f64x2.lt (local.get $c) (local.get $zero)) (local.get $vnlr)))))
        (local.set $y (f64x2.add (f64x2.mul (local.get $vb2) (local.get $mv)) (f64x2.mul (local.get $vc2) (local.get $gv))))
        (local.set $bad (v128.or (local.get $bad) (v128.or (f64x2.sub (local.get $x) (local.get $x)) (f64x2.sub (local.get $y) (local.get $y)))))
        (local.set $at (i32.add (local.get $at) (i32.const 16)))
        (br $next)))
    (i32.eqz (v128.any_true (local.get $bad))))

  ;; AdamW: m = b1·m + c1·g; v = b2·v + c2·(g·g);
  ;; p = p·decay − stepSize·(m / (sqrt(v) / bc2Sqrt + eps)), each operation
  ;; rounded to the element type.
  (func (export "adamw32") (param $p i32) (param $g i32) (param $m i32) (param $v i32) (param $n i32)
        (param $b1 f32) (param $c1 f32) (param $b2 f32) (param $c2 f32) (param $eps f32)
        (param $decay f32) (param $stepSize f32) (param $bc2Sqrt f32)
    (local $at i32) (local $end i32) (local $wide i32) (local $gv v128) (local $mv v128) (local $vv v128)
    (local $vb1 v128) (local $vc1 v128) (local $vb2 v128) (local $vc2 v128) (local $veps v128)
    (local $vdecay v128) (local $vstep v128) (local $vbc2 v128) (local $q v128)
    (local.set $vb1 (f32x4.splat (local.get $b1)))
    (local.set $vc1 (f32x4.splat (local.get $c1)))
    (local.set $vb2 (f32x4.splat (local.get $b2)))
    (local.set $vc2 (f32x4.splat (local.get $c2)))
    (local.set $veps (f32x4.splat (local.get $eps)))
    (local.set $vdecay (f32x4.splat (local.get $decay)))
    (local.set $vstep (f32x4.splat (local.get $stepSize)))
    (local.set $vbc2 (f32x4.splat (local.get $bc2Sqrt)))
    (local.set $end (i32.shl (local.get $n) (i32.const 2)))
    (local.set $wide (i32.and (local.get $end) (i32.const -32)))
    ;; Two vectors per iteration, then one.
    (block $done
      (loop $next
        (br_if $done (i32.ge_u (local.get $at) (local.get $wide)))
        (local.set $gv (v128.load offset=0 (i32.add (local.get $g) (local.get $at))))
        (local.set $mv (f32x4.add (f32x4.mul (local.get $vb1) (v128.load offset=0 (i32.add (local.get $m) (local.get $at))))
                                  (f32x4.mul (local.get $vc1) (local.get $gv))))
        (local.set $vv (f32x4.add (f32x4.mul (local.get $vb2) (v128.load offset=0 (i32.add (local.get $v) (local.get $at))))
                                  (f32x4.mul (local.get $vc2) (f32x4.mul (local.get $gv) (local.get $gv)))))
        (v128.store offset=0 (i32.add (local.get $m) (local.get $at)) (local.get $mv))
        (v128.store offset=0 (i32.add (local.get $v) (local.get $at)) (local.get $vv))
        (local.set $q (f32x4.div (f32x4.sqrt (local.get $vv)) (local.get $vbc2)))
        (v128.store offset=0 (i32.add (local.get $p) (local.get $at))
          (f32x4.sub (f32x4.mul (v128.load offset=0 (i32.add (local.get $p) (local.get $at))) (local.get $vdecay))
            (f32x4.mul (local.get $vstep)
              (f32x4.div (local.get $mv) (f32x4.add (local.get $q) (local.get $veps))))))
        (local.set $gv (v128.load offset=16 (i32.add (local.get $g) (local.get $at))))
        (local.set $mv (f32x4.add (f32x4.mul (local.get $vb1) (v128.load offset=16 (i32.add (local.get $m) (local.get $at))))
                                  (f32x4.mul (local.get $vc1) (local.get $gv))))
        (local.set $vv (f32x4.add (f32x4.mul (local.get $vb2) (v128.load offset=16 (i32.add (local.get $v) (local.get $at))))
                                  (f32x4.mul (local.get $vc2) (f32x4.mul (local.get $gv) (local.get $gv)))))
        (v128.store offset=16 (i32.add (local.get $m) (local.get $at)) (local.get $mv))
        (v128.store offset=16 (i32.add (local.get $v) (local.get $at)) (local.get $vv))
        (local.set $q (f32x4.div (f32x4.sqrt (local.get $vv)) (local.get $vbc2)))
        (v128.store offset=16 (i32.add (local.get $p) (local.get $at))
          (f32x4.sub (f32x4.mul (v128.load offset=16 (i32.add (local.get $p) (local.get $at))) (local.get $vdecay))
            (f32x4.mul (local.get $vstep)
              (f32x4.div (local.get $mv) (f32x4.add (local.get $q) (local.get $veps))))))
        (local.set $at (i32.add (local.get $at) (i32.const 32)))
        (br $next)))
    (block $done
      (loop $next
        (br_if $done (i32.ge_u (local.get $at) (local.get $end)))
        (local.set $gv (v128.load offset=0 (i32.add (local.get $g) (local.get $at))))
        (local.set $mv (f32x4.add (f32x4.mul (local.get $vb1) (v128.load offset=0 (i32.add (local.get $m) (local.get $at))))
                                  (f32x4.mul (local.get $vc1) (local.get $gv))))
        (local.set $vv (f32x4.add (f32x4.mul (local.get $vb2) (v128.load offset=0 (i32.add (local.get $v) (local.get $at))))
                                  (f32x4.mul (local.get $vc2) (f32x4.mul (local.get $gv) (local.get $gv)))))
        (v128.store offset=0 (i32.add (local.get $m) (local.get $at)) (local.get $mv))
        (v128.store offset=0 (i32.add (local.get $v) (local.get $at)) (local.get $vv))
        (local.set $q (f32x4.div (f32x4.sqrt (local.get $vv)) (local.get $vbc2)))
        (v128.store offset=0 (i32.add (local.get $p) (local.get $at))
          (f32x4.sub (f32x4.mul (v128.load offset=0 (i32.add (local.get $p) (local.get $at))) (local.get $vdecay))
            (f32x4.mul (local.get $vstep)
              (f32x4.div (local.get $mv) (f32x4.add (local.get $q) (local.get $veps))))))
        (local.set $at (i32.add (local.get $at) (i32.const 16)))
        (br $next))))

  (func (export "adamw64") (param $p i32) (param $g i32) (param $m i32) (param $v i32) (param $n i32)
        (param $b1 f64) (param $c1 f64) (param $b2 f64) (param $c2 f64) (param $eps f64)
        (param $decay f64) (param $stepSize f64) (param $bc2Sqrt f64)
    (local $at i32) (local $end i32) (local $wide i32) (local $gv v128) (local $mv v128) (local $vv v128)
    (local $vb1 v128) (local $vc1 v128) (local $vb2 v128) (local $vc2 v128) (local $veps v128)
    (local $vdecay v128) (local $vstep v128) (local $vbc2 v128)
    (local.set $vb1 (f64x2.splat (local.get $b1)))
    (local.set $vc1 (f64x2.splat (local.get $c1)))
    (local.set $vb2 (f64x2.splat (local.get $b2)))
    (local.set $vc2 (f64x2.splat (local.get $c2)))
    (local.set $veps (f64x2.splat (local.get $eps)))
    (local.set $vdecay (f64x2.splat (local.get $decay)))
    (local.set $vstep (f64x2.splat (local.get $stepSize)))
    (local.set $vbc2 (f64x2.splat (local.get $bc2Sqrt)))
    (local.set $end (i32.shl (local.get $n) (i32.const 3)))
    (local.set $wide (i32.and (local.get $end) (i32.const -32)))
    ;; Two vectors per iteration, then one.
    (block $done
      (loop $next
        (br_if $done (i32.ge_u (local.get $at) (local.get $wide)))
        (local.set $gv (v128.load offset=0 (i32.add (local.get $g) (local.get $at))))
        (local.set $mv (f64x2.add (f64x2.mul (local.get $vb1) (v128.load offset=0 (i32.add (local.get $m) (local.get $at))))
                                  (f64x2.mul (local.get $vc1) (local.get $gv))))
        (local.set $vv (f64x2.add (f64x2.mul (local.get $vb2) (v128.load offset=0 (i32.add (local.get $v) (local.get $at))))
                                  (f64x2.mul (local.get $vc2) (f64x2.mul (local.get $gv) (local.get $gv)))))
        (v128.store offset=0 (i32.add (local.get $m) (local.get $at)) (local.get $mv))
        (v128.store offset=0 (i32.add (local.get $v) (local.get $at)) (local.get $vv))
        (v128.store offset=0 (i32.add (local.get $p) (local.get $at))
          (f64x2.sub (f64x2.mul (v128.load offset=0 (i32.add (local.get $p) (local.get $at))) (local.get $vdecay))
            (f64x2.mul (local.get $vstep)
              (f64x2.div (local.get $mv)
                (f64x2.add (f64x2.div (f64x2.sqrt (local.get $vv)) (local.get $vbc2)) (local.get $veps))))))
        (local.set $gv (v128.load offset=16 (i32.add (local.get $g) (local.get $at))))
        (local.set $mv (f64x2.add (f64x2.mul (local.get $vb1) (v128.load offset=16 (i32.add (local.get $m) (local.get $at))))
                                  (f64x2.mul (local.get $vc1) (local.get $gv))))
        (local.set $vv (f64x2.add (f64x2.mul (local.get $vb2) (v128.load offset=16 (i32.add (local.get $v) (local.get $at))))
                                  (f64x2.mul (local.get $vc2) (f64x2.mul (local.get $gv) (local.get $gv)))))
        (v128.store offset=16 (i32.add (local.get $m) (local.get $at)) (local.get $mv))
        (v128.store offset=16 (i32.add (local.get $v) (local.get $at)) (local.get $vv))
        (v128.store offset=16 (i32.add (local.get $p) (local.get $at))
          (f64x2.sub (f64x2.mul (v128.load offset=16 (i32.add (local.get $p) (local.get $at))) (local.get $vdecay))
            (f64x2.mul (local.get $vstep)
              (f64x2.div (local.get $mv)
                (f64x2.add (f64x2.div (f64x2.sqrt (local.get $vv)) (local.get $vbc2)) (local.get $veps))))))
        (local.set $at (i32.add (local.get $at) (i32.const 32)))
        (br $next)))
    (block $done
      (loop $next
        (br_if $done (i32.ge_u (local.get $at) (local.get $end)))
        (local.set $gv (v128.load offset=0 (i32.add (local.get $g) (local.get $at))))
        (local.set $mv (f64x2.add (f64x2.mul (local.get $vb1) (v128.load offset=0 (i32.add (local.get $m) (local.get $at))))
                                  (f64x2.mul (local.get $vc1) (local.get $gv))))
        (local.set $vv (f64x2.add (f64x2.mul (local.get $vb2) (v128.load offset=0 (i32.add (local.get $v) (local.get $at))))
                                  (f64x2.mul (local.get $vc2) (f64x2.mul (local.get $gv) (local.get $gv)))))
        (v128.store offset=0 (i32.add (local.get $m) (local.get $at)) (local.get $mv))
        (v128.store offset=0 (i32.add (local.get $v) (local.get $at)) (local.get $vv))
        (v128.store offset=0 (i32.add (local.get $p) (local.get $at))
          (f64x2.sub (f64x2.mul (v128.load offset=0 (i32.add (local.get $p) (local.get $at))) (local.get $vdecay))
            (f64x2.mul (local.get $vstep)
              (f64x2.div (local.get $mv)
                (f64x2.add (f64x2.div (f64x2.sqrt (local.get $vv)) (local.get $vbc2)) (local.get $veps))))))
        (local.set $at (i32.add (local.get $at) (i32.const 16)))
        (br $next))))

  ;; clipGradNorm's sum of squares: element j of an array goes to partial sum
  ;; j mod 8 (float64), each partial sum adding its elements in order, so the
  ;; JavaScript loop in src/optim/clip-grad.ts gets the same bits. The eight
  ;; sums carry over between calls in the globals s0..s7 (the caller zeroes
  ;; and reads them); n is a multiple of 8. Squares of float32 values are
  ;; exact in float64.
  (global $s0 (export "s0") (mut f64) (f64.const 0))
  (global $s1 (export "s1") (mut f64) (f64.const 0))
  (global $s2 (export "s2") (mut f64) (f64.const 0))
  (global $s3 (export "s3") (mut f64) (f64.const 0))
  (global $s4 (export "s4") (mut f64) (f64.const 0))
  (global $s5 (export "s5") (mut f64) (f64.const 0))
  (global $s6 (export "s6") (mut f64) (f64.const 0))
  (global $s7 (export "s7") (mut f64) (f64.const 0))

  (func $loadSums (result v128 v128 v128 v128)
    (f64x2.replace_lane 1 (f64x2.splat (global.get $s0)) (global.get $s1))
    (f64x2.replace_lane 1 (f64x2.splat (global.get $s2)) (global.get $s3))
    (f64x2.replace_lane 1 (f64x2.splat (global.get $s4)) (global.get $s5))
    (f64x2.replace_lane 1 (f64x2.splat (global.get $s6)) (global.get $s7)))

  (func $storeSums (param $a v128) (param $b v128) (param $c v128) (param $d v128)
    (global.set $s0 (f64x2.extract_lane 0 (local.get $a)))
    (global.set $s1 (f64x2.extract_lane 1 (local.get $a)))
    (global.set $s2 (f64x2.extract_lane 0 (local.get $b)))
    (global.set $s3 (f64x2.extract_lane 1 (local.get $b)))
    (global.set $s4 (f64x2.extract_lane 0 (local.get $c)))
    (global.set $s5 (f64x2.extract_lane 1 (local.get $c)))
    (global.set $s6 (f64x2.extract_lane 0 (local.get $d)))
    (global.set $s7 (f64x2.extract_lane 1 (local.get $d))))

  ;; Each pair of elements is loaded into the low half of a vector and
  ;; promoted (no shuffle); sixteen elements per iteration, then eight.
  (func (export "sumsq32") (param $x i32) (param $n i32)
    (local $at i32) (local $end i32) (local $wide i32) (local $p i32) (local $a v128) (local $b v128) (local $c v128) (local $d v128) (local $t v128)
    (call $loadSums) (local.set $d) (local.set $c) (local.set $b) (local.set $a)
    (local.set $end (i32.shl (local.get $n) (i32.const 2)))
    (local.set $wide (i32.and (local.get $end) (i32.const -64)))
    (block $done
      (loop $next
        (br_if $done (i32.ge_u (local.get $at) (local.get $wide)))
        (local.set $p (i32.add (local.get $x) (local.get $at)))
        (local.set $t (f64x2.promote_low_f32x4 (v128.load64_zero offset=0 (local.get $p))))
        (local.set $a (f64x2.add (local.get $a) (f64x2.mul (local.get $t) (local.get $t))))
        (local.set $t (f64x2.promote_low_f32x4 (v128.load64_zero offset=8 (local.get $p))))
        (local.set $b (f64x2.add (local.get $b) (f64x2.mul (local.get $t) (local.get $t))))
        (local.set $t (f64x2.promote_low_f32x4 (v128.load64_zero offset=16 (local.get $p))))
        (local.set $c (f64x2.add (local.get $c) (f64x2.mul (local.get $t) (local.get $t))))
        (local.set $t (f64x2.promote_low_f32x4 (v128.load64_zero offset=24 (local.get $p))))
        (local.set $d (f64x2.add (local.get $d) (f64x2.mul (local.get $t) (local.get $t))))
        (local.set $t (f64x2.promote_low_f32x4 (v128.load64_zero offset=32 (local.get $p))))
        (local.set $a (f64x2.add (local.get $a) (f64x2.mul (local.get $t) (local.get $t))))
        (local.set $t (f64x2.promote_low_f32x4 (v128.load64_zero offset=40 (local.get $p))))
        (local.set $b (f64x2.add (local.get $b) (f64x2.mul (local.get $t) (local.get $t))))
        (local.set $t (f64x2.promote_low_f32x4 (v128.load64_zero offset=48 (local.get $p))))
        (local.set $c (f64x2.add (local.get $c) (f64x2.mul (local.get $t) (local.get $t))))
        (local.set $t (f64x2.promote_low_f32x4 (v128.load64_zero offset=56 (local.get $p))))
        (local.set $d (f64x2.add (local.get $d) (f64x2.mul (local.get $t) (local.get $t))))
        (local.set $at (i32.add (local.get $at) (i32.const 64)))
        (br $next)))
    (block $done
      (loop $next
        (br_if $done (i32.ge_u (local.get $at) (local.get $end)))
        (local.set $p (i32.add (local.get $x) (local.get $at)))
        (local.set $t (f64x2.promote_low_f32x4 (v128.load64_zero offset=0 (local.get $p))))
        (local.set $a (f64x2.add (local.get $a) (f64x2.mul (local.get $t) (local.get $t))))
        (local.set $t (f64x2.promote_low_f32x4 (v128.load64_zero offset=8 (local.get $p))))
        (local.set $b (f64x2.add (local.get $b) (f64x2.mul (local.get $t) (local.get $t))))
        (local.set $t (f64x2.promote_low_f32x4 (v128.load64_zero offset=16 (local.get $p))))
        (local.set $c (f64x2.add (local.get $c) (f64x2.mul (local.get $t) (local.get $t))))
        (local.set $t (f64x2.promote_low_f32x4 (v128.load64_zero offset=24 (local.get $p))))
        (local.set $d (f64x2.add (local.get $d) (f64x2.mul (local.get $t) (local.get $t))))
        (local.set $at (i32.add (local.get $at) (i32.const 32)))
        (br $next)))
    (call $storeSums (local.get $a) (local.get $b) (local.get $c) (local.get $d)))

  (func (export "sumsq64") (param $x i32) (param $n i32)
    (local $at i32) (local $end i32) (local $a v128) (local $b v128) (local $c v128) (local $d v128) (local $t v128)
    (call $loadSums) (local.set $d) (local.set $c) (local.set $b) (local.set $a)
    (local.set $end (i32.shl (local.get $n) (i32.const 3)))
    (block $done
      (loop $next
        (br_if $done (i32.ge_u (local.get $at) (local.get $end)))
        (local.set $t (v128.load (i32.add (local.get $x) (local.get $at))))
        (local.set $a (f64x2.add (local.get $a) (f64x2.mul (local.get $t) (local.get $t))))
        (local.set $t (v128.load offset=16 (i32.add (local.get $x) (local.get $at))))
        (local.set $b (f64x2.add (local.get $b) (f64x2.mul (local.get $t) (local.get $t))))
        (local.set $t (v128.load offset=32 (i32.add (local.get $x) (local.get $at))))
        (local.set $c (f64x2.add (local.get $c) (f64x2.mul (local.get $t) (local.get $t))))
        (local.set $t (v128.load offset=48 (i32.add (local.get $x) (local.get $at))))
        (local.set $d (f64x2.add (local.get $d) (f64x2.mul (local.get $t) (local.get $t))))
        (local.set $at (i32.add (local.get $at) (i32.const 64)))
        (br $next)))
    (call $storeSums (local.get $a) (local.get $b) (local.get $c) (local.get $d)))

  ;; x = x · coef, coef a float64: a float32 element is promoted, multiplied in
  ;; float64 and rounded back once, as `x[j] *= coef` on a Float32Array.
  ;; Each pair of elements is loaded into the low half of a vector, promoted,
  ;; scaled, demoted and stored back (no shuffle); sixteen elements per
  ;; iteration, then two.
  (func (export "scale32") (param $x i32) (param $n i32) (param $coef f64)
    (local $at i32) (local $end i32) (local $wide i32) (local $p i32) (local $k v128)
    (local.set $k (f64x2.splat (local.get $coef)))
    (local.set $end (i32.shl (local.get $n) (i32.const 2)))
    (local.set $wide (i32.and (local.get $end) (i32.const -64)))
    (block $done
      (loop $next
        (br_if $done (i32.ge_u (local.get $at) (local.get $wide)))
        (local.set $p (i32.add (local.get $x) (local.get $at)))
        (v128.store64_lane offset=0 0 (local.get $p)
          (f32x4.demote_f64x2_zero (f64x2.mul (f64x2.promote_low_f32x4 (v128.load64_zero offset=0 (local.get $p))) (local.get $k))))
        (v128.store64_lane offset=8 0 (local.get $p)
          (f32x4.demote_f64x2_zero (f64x2.mul (f64x2.promote_low_f32x4 (v128.load64_zero offset=8 (local.get $p))) (local.get $k))))
        (v128.store64_lane offset=16 0 (local.get $p)
          (f32x4.demote_f64x2_zero (f64x2.mul (f64x2.promote_low_f32x4 (v128.load64_zero offset=16 (local.get $p))) (local.get $k))))
        (v128.store64_lane offset=24 0 (local.get $p)
          (f32x4.demote_f64x2_zero (f64x2.mul (f64x2.promote_low_f32x4 (v128.load64_zero offset=24 (local.get $p))) (local.get $k))))
        (v128.store64_lane offset=32 0 (local.get $p)
          (f32x4.demote_f64x2_zero (f64x2.mul (f64x2.promote_low_f32x4 (v128.load64_zero offset=32 (local.get $p))) (local.get $k))))
        (v128.store64_lane offset=40 0 (local.get $p)
          (f32x4.demote_f64x2_zero (f64x2.mul (f64x2.promote_low_f32x4 (v128.load64_zero offset=40 (local.get $p))) (local.get $k))))
        (v128.store64_lane offset=48 0 (local.get $p)
          (f32x4.demote_f64x2_zero (f64x2.mul (f64x2.promote_low_f32x4 (v128.load64_zero offset=48 (local.get $p))) (local.get $k))))
        (v128.store64_lane offset=56 0 (local.get $p)
          (f32x4.demote_f64x2_zero (f64x2.mul (f64x2.promote_low_f32x4 (v128.load64_zero offset=56 (local.get $p))) (local.get $k))))
        (local.set $at (i32.add (local.get $at) (i32.const 64)))
        (br $next)))
    (block $done
      (loop $next
        (br_if $done (i32.ge_u (local.get $at) (local.get $end)))
        (local.set $p (i32.add (local.get $x) (local.get $at)))
        (v128.store64_lane offset=0 0 (local.get $p)
          (f32x4.demote_f64x2_zero (f64x2.mul (f64x2.promote_low_f32x4 (v128.load64_zero offset=0 (local.get $p))) (local.get $k))))
        (local.set $at (i32.add (local.get $at) (i32.const 8)))
        (br $next))))

  (func (export "scale64") (param $x i32) (param $n i32) (param $coef f64)
    (local $at i32) (local $end i32) (local $k v128)
    (local.set $k (f64x2.splat (local.get $coef)))
    (local.set $end (i32.shl (local.get $n) (i32.const 3)))
    (block $done
      (loop $next
        (br_if $done (i32.ge_u (local.get $at) (local.get $end)))
        (v128.store (i32.add (local.get $x) (local.get $at))
          (f64x2.mul (v128.load (i32.add (local.get $x) (local.get $at))) (local.get $k)))
        (local.set $at (i32.add (local.get $at) (i32.const 16)))
        (br $next))))

  ;; 1 when every one of the n elements is finite, else 0: x − x is +0 (no bit
  ;; set) for a finite x and NaN for ±Infinity and NaN, so the bits of every
  ;; difference ORed together are 0 only when all are finite. Four vectors
  ;; per iteration, then one at a time.
  (func (export "finite32") (param $x i32) (param $n i32) (result i32)
    (local $at i32) (local $end i32) (local $wide i32) (local $bad v128) (local $v v128) (local $w v128) (local $y v128) (local $z v128)
    (local.set $end (i32.shl (local.get $n) (i32.const 2)))
    (local.set $wide (i32.and (local.get $end) (i32.const -64)))
    (block $done
      (loop $next
        (br_if $done (i32.ge_u (local.get $at) (local.get $wide)))
        (local.set $v (v128.load (i32.add (local.get $x) (local.get $at))))
        (local.set $w (v128.load offset=16 (i32.add (local.get $x) (local.get $at))))
        (local.set $y (v128.load offset=32 (i32.add (local.get $x) (local.get $at))))
        (local.set $z (v128.load offset=48 (i32.add (local.get $x) (local.get $at))))
        (local.set $bad (v128.or (local.get $bad)
          (v128.or (v128.or (f32x4.sub (local.get $v) (local.get $v)) (f32x4.sub (local.get $w) (local.get $w)))
                   (v128.or (f32x4.sub (local.get $y) (local.get $y)) (f32x4.sub (local.get $z) (local.get $z))))))
        (local.set $at (i32.add (local.get $at) (i32.const 64)))
        (br $next)))
    (block $done
      (loop $next
        (br_if $done (i32.ge_u (local.get $at) (local.get $end)))
        (local.set $v (v128.load (i32.add (local.get $x) (local.get $at))))
        (local.set $bad (v128.or (local.get $bad) (f32x4.sub (local.get $v) (local.get $v))))
        (local.set $at (i32.add (local.get $at) (i32.const 16)))
        (br $next)))
    (i32.eqz (v128.any_true (local.get $bad))))

  (func (export "finite64") (param $x i32) (param $n i32) (result i32)
    (local $at i32) (local $end i32) (local $wide i32) (local $bad v128) (local $v v128) (local $w v128) (local $y v128) (local $z v128)
    (local.set $end (i32.shl (local.get $n) (i32.const 3)))
    (local.set $wide (i32.and (local.get $end) (i32.const -64)))
    (block $done
      (loop $next
        (br_if $done (i32.ge_u (local.get $at) (local.get $wide)))
        (local.set $v (v128.load (i32.add (local.get $x) (local.get $at))))
        (local.set $w (v128.load offset=16 (i32.add (local.get $x) (local.get $at))))
        (local.set $y (v128.load offset=32 (i32.add (local.get $x) (local.get $at))))
        (local.set $z (v128.load offset=48 (i32.add (local.get $x) (local.get $at))))
        (local.set $bad (v128.or (local.get $bad)
          (v128.or (v128.or (f64x2.sub (local.get $v) (local.get $v)) (f64x2.sub (local.get $w) (local.get $w)))
                   (v128.or (f64x2.sub (local.get $y) (local.get $y)) (f64x2.sub (local.get $z) (local.get $z))))))
        (local.set $at (i32.add (local.get $at) (i32.const 64)))
        (br $next)))
    (block $done
      (loop $next
        (br_if $done (i32.ge_u (local.get $at) (local.get $end)))
        (local.set $v (v128.load (i32.add (local.get $x) (local.get $at))))
        (local.set $bad (v128.or (local.get $bad) (f64x2.sub (local.get $v) (local.get $v))))
        (local.set $at (i32.add (local.get $at) (i32.const 16)))
        (br $next)))
    (i32.eqz (v128.any_true (local.get $bad))))
)
