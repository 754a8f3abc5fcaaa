;; The hello plugin of examples/HELLO.md in bare WebAssembly text: the ABI
;; with nothing in between. Build: wat2wasm hello.wat -o hello.wasm
;;
;; Memory: constant strings from 1024, the answer built at 16384 (up to
;; 48 KiB), the request written by the host at 65536 (memory grows to fit).
(module
  (import "moat" "log" (func $log (param i32 i32 i32)))
  (import "moat" "progress" (func $progress (param f64 f64 i32 i32)))
  (memory (export "memory") 2)

  (data (i32.const 1024) "{\"name\":\"hello\",\"version\":\"1.0.0\",\"description\":\"Greets people and counts text.\",\"tools\":[{\"name\":\"greet\",\"description\":\"Greets someone by name.\",\"inputSchema\":{\"type\":\"object\",\"properties\":{\"name\":{\"type\":\"string\",\"description\":\"Who to greet.\"}},\"required\":[\"name\"]},\"annotations\":{\"readOnlyHint\":true}},{\"name\":\"stats\",\"description\":\"Counts the words, lines and characters of a text.\",\"inputSchema\":{\"type\":\"object\",\"properties\":{\"text\":{\"type\":\"string\",\"description\":\"The text to count.\"}},\"required\":[\"text\"]},\"outputSchema\":{\"type\":\"object\",\"properties\":{\"words\":{\"type\":\"integer\"},\"lines\":{\"type\":\"integer\"},\"chars\":{\"type\":\"integer\"}},\"required\":[\"words\",\"lines\",\"chars\"]},\"annotations\":{\"readOnlyHint\":true}}],\"resources\":[{\"uri\":\"hello://greeting\",\"name\":\"greeting\",\"description\":\"A greeting from the plugin.\",\"mimeType\":\"text/plain\"}],\"resourceTemplates\":[{\"uriTemplate\":\"hello://greeting/{name}\",\"name\":\"personal-greeting\",\"description\":\"A greeting for the person named in the URI.\",\"mimeType\":\"text/plain\"}],\"prompts\":[{\"name\":\"greet_prompt\",\"description\":\"Asks the model to greet someone warmly.\",\"arguments\":[{\"name\":\"name\",\"description\":\"Who to greet.\",\"required\":true}]}]}")
  (global $descLen i32 (i32.const 1188))

  ;; Constant pieces, each at its own address: (address, length).
  (data (i32.const 3000) "\"name\"")                                       ;; 6
  (data (i32.const 3010) "\"arguments\"")                                  ;; 11
  (data (i32.const 3030) "\"text\"")                                       ;; 6
  (data (i32.const 3040) "greet")                                          ;; 5
  (data (i32.const 3050) "stats")                                          ;; 5
  (data (i32.const 3060) "greet called")                                   ;; 12
  (data (i32.const 3080) "stats called")                                   ;; 12
  (data (i32.const 3100) "done")                                           ;; 4
  (data (i32.const 3110) "{\"content\":[{\"type\":\"text\",\"text\":\"")  ;; 35
  (data (i32.const 3150) "Hello, ")                                        ;; 7
  (data (i32.const 3160) "!\"}]}")                                         ;; 5
  (data (i32.const 3170) "name is empty: pass the name of the person to greet\"}],\"isError\":true}") ;; 70
  (data (i32.const 3250) "{\\\"words\\\":")                                ;; 11
  (data (i32.const 3270) ",\\\"lines\\\":")                                ;; 11
  (data (i32.const 3290) ",\\\"chars\\\":")                                ;; 11
  (data (i32.const 3310) "}\"}],\"structuredContent\":{\"words\":")       ;; 34
  (data (i32.const 3350) ",\"lines\":")                                    ;; 9
  (data (i32.const 3360) ",\"chars\":")                                    ;; 9
  (data (i32.const 3370) "}}")                                             ;; 2
  (data (i32.const 3380) "{\"error\":{\"code\":-32602,\"message\":\"unknown tool \\\"") ;; 50
  (data (i32.const 3440) "\\\"\"}}")                                       ;; 5
  (data (i32.const 3450) "{\"error\":{\"code\":-32602,\"message\":\"missing argument\"}}") ;; 54
  (data (i32.const 3510) "name is too long: pass at most 40000 bytes\"}],\"isError\":true}") ;; 61

  ;; For resources/read, prompts/get and completion/complete.
  (data (i32.const 3600) "\"method\"") ;; method, 8
  (data (i32.const 3610) "tools/call") ;; toolsCall, 10
  (data (i32.const 3630) "resources/read") ;; resourcesRead, 14
  (data (i32.const 3650) "prompts/get") ;; promptsGet, 11
  (data (i32.const 3670) "completion/complete") ;; complete, 19
  (data (i32.const 3690) "\"uri\"") ;; uriKey, 5
  (data (i32.const 3700) "hello://greeting/") ;; greetingSlash, 17
  (data (i32.const 3720) "{\"contents\":[{\"uri\":\"hello://greeting\",\"mimeType\":\"text/plain\",\"text\":\"Hello from moat!\"}]}") ;; staticAnswer, 91
  (data (i32.const 3820) "{\"contents\":[{\"uri\":\"") ;; contentsStart, 21
  (data (i32.const 3850) "\",\"mimeType\":\"text/plain\",\"text\":\"Hello, ") ;; contentsMid, 41
  (data (i32.const 3900) "!\"}]}") ;; contentsEnd, 5
  (data (i32.const 3910) "{\"error\":{\"code\":-32002,\"message\":\"resource not found: ") ;; notFound, 55
  (data (i32.const 3970) "\"}}") ;; errEnd, 3
  (data (i32.const 3980) "greet_prompt") ;; greetPrompt, 12
  (data (i32.const 4000) "{\"error\":{\"code\":-32602,\"message\":\"unknown prompt \\\"") ;; unknownPrompt, 52
  (data (i32.const 4060) "\\\"\"}}") ;; quoteErrEnd, 5
  (data (i32.const 4070) "{\"error\":{\"code\":-32602,\"message\":\"prompt \\\"greet_prompt\\\" needs the argument \\\"name\\\"\"}}") ;; missingName, 89
  (data (i32.const 4160) "{\"messages\":[{\"role\":\"user\",\"content\":{\"type\":\"text\",\"text\":\"Please greet ") ;; promptStart, 74
  (data (i32.const 4240) " warmly.\"}}]}") ;; promptEnd, 13
  (data (i32.const 4260) "\"argument\"") ;; argumentKey, 10
  (data (i32.const 4280) "\"value\"") ;; valueKey, 7
  (data (i32.const 4290) "\"type\"") ;; typeKey, 6
  (data (i32.const 4300) "ref/prompt") ;; refPrompt, 10
  (data (i32.const 4320) "ref/resource") ;; refResource, 12
  (data (i32.const 4340) "hello://greeting/{name}") ;; template, 23
  (data (i32.const 4370) "{\"completion\":{\"values\":[") ;; completionStart, 25
  (data (i32.const 4400) "]}}") ;; completionEnd, 3
  (data (i32.const 4410) "Ada") ;; ada, 3
  (data (i32.const 4420) "Alan") ;; alan, 4
  (data (i32.const 4430) "Grace") ;; grace, 5
  (data (i32.const 4440) "Linus") ;; linus, 5
  (data (i32.const 4450) "{\"error\":{\"code\":-32601,\"message\":\"method \\\"") ;; noMethod, 44
  (data (i32.const 4500) "\\\" is not supported by this plugin\"}}") ;; noMethodEnd, 37
  (data (i32.const 4540) "\"") ;; quote, 1
  (data (i32.const 4550) ",") ;; comma, 1

  (global $out (mut i32) (i32.const 16384)) ;; where the answer's next byte goes

  (func (export "moat_abi_version") (result i32) (i32.const 1))

  (func (export "moat_alloc") (param $n i32) (result i32)
    (local $need i32)
    (local.set $need (i32.sub
      (i32.shr_u (i32.add (i32.add (local.get $n) (i32.const 65536)) (i32.const 65535)) (i32.const 16))
      (memory.size)))
    (if (i32.gt_s (local.get $need) (i32.const 0))
      (then (if (i32.lt_s (memory.grow (local.get $need)) (i32.const 0)) (then (return (i32.const 0))))))
    (i32.const 65536))

  (func (export "moat_describe") (result i64)
    (i64.or (i64.shl (i64.const 1024) (i64.const 32)) (i64.extend_i32_u (global.get $descLen))))

  ;; put appends len bytes from src to the answer.
  (func $put (param $src i32) (param $len i32)
    (memory.copy (global.get $out) (local.get $src) (local.get $len))
    (global.set $out (i32.add (global.get $out) (local.get $len))))

  ;; putInt appends n in decimal.
  (func $putInt (param $n i32)
    (local $div i32)
    (local.set $div (i32.const 1))
    (block $done (loop $up
      (br_if $done (i32.gt_u (local.get $div) (i32.div_u (local.get $n) (i32.const 10))))
      (local.set $div (i32.mul (local.get $div) (i32.const 10)))
      (br $up)))
    (loop $digits
      (i32.store8 (global.get $out) (i32.add (i32.const 48) (i32.rem_u (i32.div_u (local.get $n) (local.get $div)) (i32.const 10))))
      (global.set $out (i32.add (global.get $out) (i32.const 1)))
      (local.set $div (i32.div_u (local.get $div) (i32.const 10)))
      (br_if $digits (local.get $div))))

  ;; find returns the offset of the first match of pat in [p, end), or -1.
  (func $find (param $p i32) (param $end i32) (param $pat i32) (param $plen i32) (result i32)
    (loop $at
      (if (i32.gt_u (i32.add (local.get $p) (local.get $plen)) (local.get $end)) (then (return (i32.const -1))))
      (if (i32.eqz (call $cmp (local.get $p) (local.get $pat) (local.get $plen))) (then (return (local.get $p))))
      (local.set $p (i32.add (local.get $p) (i32.const 1)))
      (br $at))
    (i32.const -1))

  ;; cmp is 0 when the len bytes at a and b are equal.
  (func $cmp (param $a i32) (param $b i32) (param $len i32) (result i32)
    (local $i i32)
    (block $done (loop $each
      (br_if $done (i32.ge_u (local.get $i) (local.get $len)))
      (if (i32.ne (i32.load8_u (i32.add (local.get $a) (local.get $i))) (i32.load8_u (i32.add (local.get $b) (local.get $i))))
        (then (return (i32.const 1))))
      (local.set $i (i32.add (local.get $i) (i32.const 1)))
      (br $each)))
    (i32.const 0))

  ;; value finds key (a quoted name) in [p, end) and returns the offset of
  ;; the first byte of its string value, after the opening quote, or -1.
  (func $value (param $p i32) (param $end i32) (param $key i32) (param $klen i32) (result i32)
    (local $c i32)
    (local.set $p (call $find (local.get $p) (local.get $end) (local.get $key) (local.get $klen)))
    (if (i32.lt_s (local.get $p) (i32.const 0)) (then (return (i32.const -1))))
    (local.set $p (i32.add (local.get $p) (local.get $klen)))
    (loop $skip ;; whitespace and the colon
      (if (i32.ge_u (local.get $p) (local.get $end)) (then (return (i32.const -1))))
      (local.set $c (i32.load8_u (local.get $p)))
      (if (i32.or (i32.or (i32.eq (local.get $c) (i32.const 32)) (i32.eq (local.get $c) (i32.const 58)))
                  (i32.or (i32.eq (local.get $c) (i32.const 9)) (i32.or (i32.eq (local.get $c) (i32.const 10)) (i32.eq (local.get $c) (i32.const 13)))))
        (then (local.set $p (i32.add (local.get $p) (i32.const 1))) (br $skip))))
    (if (i32.ne (local.get $c) (i32.const 34)) (then (return (i32.const -1))))
    (i32.add (local.get $p) (i32.const 1)))

  ;; strEnd returns the offset of the quote that closes the string body
  ;; starting at p, skipping escaped characters.
  (func $strEnd (param $p i32) (param $end i32) (result i32)
    (local $c i32)
    (block $done (loop $each
      (br_if $done (i32.ge_u (local.get $p) (local.get $end)))
      (local.set $c (i32.load8_u (local.get $p)))
      (br_if $done (i32.eq (local.get $c) (i32.const 34)))
      (if (i32.eq (local.get $c) (i32.const 92)) (then (local.set $p (i32.add (local.get $p) (i32.const 1)))))
      (local.set $p (i32.add (local.get $p) (i32.const 1)))
      (br $each)))
    (local.get $p))

  (func $hex (param $c i32) (result i32)
    (if (i32.le_u (local.get $c) (i32.const 57)) (then (return (i32.sub (local.get $c) (i32.const 48)))))
    (i32.sub (i32.or (local.get $c) (i32.const 32)) (i32.const 87)))

  (func $answer (result i64)
    (i64.or (i64.shl (i64.const 16384) (i64.const 32)) (i64.extend_i32_u (i32.sub (global.get $out) (i32.const 16384)))))

  (func $greet (param $args i32) (param $end i32) (result i64)
    (local $v i32) (local $vend i32)
    (call $log (i32.const 1) (i32.const 3060) (i32.const 12))
    (call $progress (f64.const 1) (f64.const 1) (i32.const 3100) (i32.const 4))
    (local.set $v (call $value (local.get $args) (local.get $end) (i32.const 3000) (i32.const 6)))
    (if (i32.lt_s (local.get $v) (i32.const 0)) (then (call $put (i32.const 3450) (i32.const 54)) (return (call $answer))))
    (local.set $vend (call $strEnd (local.get $v) (local.get $end)))
    (call $put (i32.const 3110) (i32.const 35))
    (if (i32.eq (local.get $v) (local.get $vend))
      (then (call $put (i32.const 3170) (i32.const 70)) (return (call $answer))))
    (if (i32.gt_u (i32.sub (local.get $vend) (local.get $v)) (i32.const 40000))
      (then (call $put (i32.const 3510) (i32.const 61)) (return (call $answer))))
    (call $put (i32.const 3150) (i32.const 7))
    ;; The name's JSON string body is copied as it came: it is already escaped.
    (call $put (local.get $v) (i32.sub (local.get $vend) (local.get $v)))
    (call $put (i32.const 3160) (i32.const 5))
    (call $answer))

  (func $stats (param $args i32) (param $end i32) (result i64)
    (local $p i32) (local $vend i32) (local $c i32) (local $u i32)
    (local $words i32) (local $newlines i32) (local $chars i32) (local $inWord i32) (local $last i32)
    (call $log (i32.const 1) (i32.const 3080) (i32.const 12))
    (call $progress (f64.const 1) (f64.const 1) (i32.const 3100) (i32.const 4))
    (local.set $p (call $value (local.get $args) (local.get $end) (i32.const 3030) (i32.const 6)))
    (if (i32.lt_s (local.get $p) (i32.const 0)) (then (call $put (i32.const 3450) (i32.const 54)) (return (call $answer))))
    (local.set $vend (call $strEnd (local.get $p) (local.get $end)))
    (block $done (loop $each
      (br_if $done (i32.ge_u (local.get $p) (local.get $vend)))
      (local.set $c (i32.load8_u (local.get $p)))
      (local.set $p (i32.add (local.get $p) (i32.const 1)))
      (if (i32.eq (local.get $c) (i32.const 92)) ;; an escape: decode the character it stands for
        (then
          (local.set $c (i32.load8_u (local.get $p)))
          (local.set $p (i32.add (local.get $p) (i32.const 1)))
          (if (i32.eq (local.get $c) (i32.const 110)) (then (local.set $c (i32.const 10))))
          (if (i32.eq (local.get $c) (i32.const 116)) (then (local.set $c (i32.const 9))))
          (if (i32.eq (local.get $c) (i32.const 114)) (then (local.set $c (i32.const 13))))
          (if (i32.eq (local.get $c) (i32.const 117)) ;; \uXXXX
            (then
              (local.set $u (i32.or (i32.or
                (i32.shl (call $hex (i32.load8_u (local.get $p))) (i32.const 12))
                (i32.shl (call $hex (i32.load8_u (i32.add (local.get $p) (i32.const 1)))) (i32.const 8)))
                (i32.or
                (i32.shl (call $hex (i32.load8_u (i32.add (local.get $p) (i32.const 2)))) (i32.const 4))
                (call $hex (i32.load8_u (i32.add (local.get $p) (i32.const 3)))))))
              (local.set $p (i32.add (local.get $p) (i32.const 4)))
              ;; A low surrogate finishes a pair already counted.
              (if (i32.eq (i32.and (local.get $u) (i32.const 0xFC00)) (i32.const 0xDC00)) (then (br $each)))
              (local.set $c (select (local.get $u) (i32.const 65) (i32.lt_u (local.get $u) (i32.const 128))))))
          (local.set $chars (i32.add (local.get $chars) (i32.const 1))))
        (else
          ;; A raw byte: UTF-8 continuation bytes are part of the character before.
          (br_if $each (i32.eq (i32.and (local.get $c) (i32.const 0xC0)) (i32.const 0x80)))
          (local.set $chars (i32.add (local.get $chars) (i32.const 1)))))
      (local.set $last (local.get $c))
      (if (i32.eq (local.get $c) (i32.const 10)) (then (local.set $newlines (i32.add (local.get $newlines) (i32.const 1)))))
      (if (i32.or (i32.or (i32.eq (local.get $c) (i32.const 32)) (i32.eq (local.get $c) (i32.const 9)))
                  (i32.or (i32.eq (local.get $c) (i32.const 10)) (i32.eq (local.get $c) (i32.const 13))))
        (then (local.set $inWord (i32.const 0)))
        (else (if (i32.eqz (local.get $inWord))
          (then (local.set $inWord (i32.const 1)) (local.set $words (i32.add (local.get $words) (i32.const 1)))))))
      (br $each)))
    (if (i32.and (i32.gt_u (local.get $chars) (i32.const 0)) (i32.ne (local.get $last) (i32.const 10)))
      (then (local.set $newlines (i32.add (local.get $newlines) (i32.const 1)))))
    (call $put (i32.const 3110) (i32.const 35))
    (call $put (i32.const 3250) (i32.const 11)) (call $putInt (local.get $words))
    (call $put (i32.const 3270) (i32.const 11)) (call $putInt (local.get $newlines))
    (call $put (i32.const 3290) (i32.const 11)) (call $putInt (local.get $chars))
    (call $put (i32.const 3310) (i32.const 34)) (call $putInt (local.get $words))
    (call $put (i32.const 3350) (i32.const 9)) (call $putInt (local.get $newlines))
    (call $put (i32.const 3360) (i32.const 9)) (call $putInt (local.get $chars))
    (call $put (i32.const 3370) (i32.const 2))
    (call $answer))

  ;; same is 1 when [p, end) holds exactly the len bytes at s.
  (func $same (param $p i32) (param $end i32) (param $s i32) (param $len i32) (result i32)
    (if (i32.ne (i32.sub (local.get $end) (local.get $p)) (local.get $len)) (then (return (i32.const 0))))
    (i32.eqz (call $cmp (local.get $p) (local.get $s) (local.get $len))))

  ;; read serves resources/read: the greeting at hello://greeting, and a
  ;; greeting for NAME at hello://greeting/NAME (no '/' in NAME).
  (func $read (param $ptr i32) (param $end i32) (result i64)
    (local $u i32) (local $uend i32)
    (local.set $u (call $value (local.get $ptr) (local.get $end) (i32.const 3690) (i32.const 5)))
    (if (i32.lt_s (local.get $u) (i32.const 0)) (then (call $put (i32.const 3450) (i32.const 54)) (return (call $answer))))
    (local.set $uend (call $strEnd (local.get $u) (local.get $end)))
    (if (call $same (local.get $u) (local.get $uend) (i32.const 3700) (i32.const 16))
      (then (call $put (i32.const 3720) (i32.const 91)) (return (call $answer))))
    (if (i32.and
          (i32.gt_u (i32.sub (local.get $uend) (local.get $u)) (i32.const 17))
          (i32.eqz (call $cmp (local.get $u) (i32.const 3700) (i32.const 17))))
      (then
        (if (i32.lt_s (call $find (i32.add (local.get $u) (i32.const 17)) (local.get $uend) (i32.const 3615) (i32.const 1)) (i32.const 0)) ;; no "/" (that of tools/call) in NAME
          (then
            ;; The URI and the name are copied as they came: already escaped.
            (call $put (i32.const 3820) (i32.const 21))
            (call $put (local.get $u) (i32.sub (local.get $uend) (local.get $u)))
            (call $put (i32.const 3850) (i32.const 41))
            (call $put (i32.add (local.get $u) (i32.const 17)) (i32.sub (local.get $uend) (i32.add (local.get $u) (i32.const 17))))
            (call $put (i32.const 3900) (i32.const 5))
            (return (call $answer))))))
    (call $put (i32.const 3910) (i32.const 55))
    (call $put (local.get $u) (i32.sub (local.get $uend) (local.get $u)))
    (call $put (i32.const 3970) (i32.const 3))
    (call $answer))

  ;; prompt serves prompts/get of greet_prompt, whose argument "name" is
  ;; required. The prompt's name is the request's first "name"; the
  ;; argument is the first "name" after "arguments".
  (func $prompt (param $ptr i32) (param $end i32) (result i64)
    (local $n i32) (local $nend i32) (local $args i32) (local $v i32)
    (local.set $n (call $value (local.get $ptr) (local.get $end) (i32.const 3000) (i32.const 6)))
    (if (i32.lt_s (local.get $n) (i32.const 0)) (then (call $put (i32.const 3450) (i32.const 54)) (return (call $answer))))
    (local.set $nend (call $strEnd (local.get $n) (local.get $end)))
    (if (i32.eqz (call $same (local.get $n) (local.get $nend) (i32.const 3980) (i32.const 12)))
      (then
        (call $put (i32.const 4000) (i32.const 52))
        (call $put (local.get $n) (i32.sub (local.get $nend) (local.get $n)))
        (call $put (i32.const 4060) (i32.const 5))
        (return (call $answer))))
    (local.set $args (call $find (local.get $nend) (local.get $end) (i32.const 3010) (i32.const 11)))
    (local.set $v (i32.const -1))
    (if (i32.ge_s (local.get $args) (i32.const 0))
      (then (local.set $v (call $value (local.get $args) (local.get $end) (i32.const 3000) (i32.const 6)))))
    (if (i32.lt_s (local.get $v) (i32.const 0)) (then (call $put (i32.const 4070) (i32.const 89)) (return (call $answer))))
    (call $put (i32.const 4160) (i32.const 74))
    (call $put (local.get $v) (i32.sub (call $strEnd (local.get $v) (local.get $end)) (local.get $v)))
    (call $put (i32.const 4240) (i32.const 13))
    (call $answer))

  ;; suggest appends the name at s if it starts with the value [v, vend);
  ;; first tells whether a comma is needed, and is returned updated.
  (func $suggest (param $s i32) (param $len i32) (param $v i32) (param $vend i32) (param $first i32) (result i32)
    (if (i32.gt_u (i32.sub (local.get $vend) (local.get $v)) (local.get $len)) (then (return (local.get $first))))
    (if (call $cmp (local.get $s) (local.get $v) (i32.sub (local.get $vend) (local.get $v))) (then (return (local.get $first))))
    (if (i32.eqz (local.get $first)) (then (call $put (i32.const 4550) (i32.const 1))))
    (call $put (i32.const 4540) (i32.const 1))
    (call $put (local.get $s) (local.get $len))
    (call $put (i32.const 4540) (i32.const 1))
    (i32.const 0))

  ;; complete serves completion/complete: the argument "name" of
  ;; greet_prompt and the variable "name" of hello://greeting/{name}
  ;; complete from a fixed list. The reference comes first in the request,
  ;; so its "type", "name" and "uri" are the first of the request; the
  ;; argument's follow "argument".
  (func $complete (param $ptr i32) (param $end i32) (result i64)
    (local $t i32) (local $tend i32) (local $r i32) (local $ok i32) (local $a i32) (local $v i32) (local $vend i32) (local $first i32)
    (call $put (i32.const 4370) (i32.const 25))
    (local.set $t (call $value (local.get $ptr) (local.get $end) (i32.const 4290) (i32.const 6)))
    (if (i32.ge_s (local.get $t) (i32.const 0))
      (then
        (local.set $tend (call $strEnd (local.get $t) (local.get $end)))
        (if (call $same (local.get $t) (local.get $tend) (i32.const 4300) (i32.const 10))
          (then
            (local.set $r (call $value (local.get $ptr) (local.get $end) (i32.const 3000) (i32.const 6)))
            (if (i32.ge_s (local.get $r) (i32.const 0))
              (then (local.set $ok (call $same (local.get $r) (call $strEnd (local.get $r) (local.get $end)) (i32.const 3980) (i32.const 12)))))))
        (if (call $same (local.get $t) (local.get $tend) (i32.const 4320) (i32.const 12))
          (then
            (local.set $r (call $value (local.get $ptr) (local.get $end) (i32.const 3690) (i32.const 5)))
            (if (i32.ge_s (local.get $r) (i32.const 0))
              (then (local.set $ok (call $same (local.get $r) (call $strEnd (local.get $r) (local.get $end)) (i32.const 4340) (i32.const 23)))))))))
    (local.set $a (call $find (local.get $ptr) (local.get $end) (i32.const 4260) (i32.const 10)))
    (if (i32.and (local.get $ok) (i32.ge_s (local.get $a) (i32.const 0)))
      (then
        (local.set $r (call $value (local.get $a) (local.get $end) (i32.const 3000) (i32.const 6)))
        (local.set $v (call $value (local.get $a) (local.get $end) (i32.const 4280) (i32.const 7)))
        (if (i32.and (i32.ge_s (local.get $r) (i32.const 0)) (i32.ge_s (local.get $v) (i32.const 0)))
          (then
            (if (call $same (local.get $r) (call $strEnd (local.get $r) (local.get $end)) (i32.const 3001) (i32.const 4))
              (then
                (local.set $vend (call $strEnd (local.get $v) (local.get $end)))
                (local.set $first (i32.const 1))
                (local.set $first (call $suggest (i32.const 4410) (i32.const 3) (local.get $v) (local.get $vend) (local.get $first)))
                (local.set $first (call $suggest (i32.const 4420) (i32.const 4) (local.get $v) (local.get $vend) (local.get $first)))
                (local.set $first (call $suggest (i32.const 4430) (i32.const 5) (local.get $v) (local.get $vend) (local.get $first)))
                (local.set $first (call $suggest (i32.const 4440) (i32.const 5) (local.get $v) (local.get $vend) (local.get $first)))))))))
    (call $put (i32.const 4400) (i32.const 3))
    (call $answer))

  (func (export "moat_call") (param $ptr i32) (param $len i32) (result i64)
    (local $end i32) (local $name i32) (local $nend i32) (local $args i32)
    (global.set $out (i32.const 16384))
    (local.set $end (i32.add (local.get $ptr) (local.get $len)))
    ;; The method: tools/call goes on below; the other three have their own
    ;; functions; any other is not served.
    (local.set $name (call $value (local.get $ptr) (local.get $end) (i32.const 3600) (i32.const 8)))
    (if (i32.ge_s (local.get $name) (i32.const 0))
      (then
        (local.set $nend (call $strEnd (local.get $name) (local.get $end)))
        (if (call $same (local.get $name) (local.get $nend) (i32.const 3630) (i32.const 14)) (then (return (call $read (local.get $ptr) (local.get $end)))))
        (if (call $same (local.get $name) (local.get $nend) (i32.const 3650) (i32.const 11)) (then (return (call $prompt (local.get $ptr) (local.get $end)))))
        (if (call $same (local.get $name) (local.get $nend) (i32.const 3670) (i32.const 19)) (then (return (call $complete (local.get $ptr) (local.get $end)))))
        (if (i32.eqz (call $same (local.get $name) (local.get $nend) (i32.const 3610) (i32.const 10)))
          (then
            (call $put (i32.const 4450) (i32.const 44))
            (call $put (local.get $name) (i32.sub (local.get $nend) (local.get $name)))
            (call $put (i32.const 4500) (i32.const 37))
            (return (call $answer))))))
    ;; The tool's name is the first "name"; its arguments follow "arguments".
    (local.set $name (call $value (local.get $ptr) (local.get $end) (i32.const 3000) (i32.const 6)))
    (local.set $args (call $find (local.get $ptr) (local.get $end) (i32.const 3010) (i32.const 11)))
    (if (i32.lt_s (local.get $args) (i32.const 0)) (then (local.set $args (local.get $end))))
    (if (i32.ge_s (local.get $name) (i32.const 0))
      (then
        (local.set $nend (call $strEnd (local.get $name) (local.get $end)))
        (if (i32.eq (i32.sub (local.get $nend) (local.get $name)) (i32.const 5))
          (then
            (if (i32.eqz (call $cmp (local.get $name) (i32.const 3040) (i32.const 5)))
              (then (return (call $greet (local.get $args) (local.get $end)))))
            (if (i32.eqz (call $cmp (local.get $name) (i32.const 3050) (i32.const 5)))
              (then (return (call $stats (local.get $args) (local.get $end)))))))
        (call $put (i32.const 3380) (i32.const 50))
        (call $put (local.get $name) (i32.sub (local.get $nend) (local.get $name)))
        (call $put (i32.const 3440) (i32.const 5))
        (return (call $answer))))
    (call $put (i32.const 3450) (i32.const 54))
    (call $answer))
)
