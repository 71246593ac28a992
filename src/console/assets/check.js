// 道德银行 核验: recomputes, on the reader's own device, that a printed line's transaction hash is
// in the tree its signed head names (inclusion proof) and that the newest head's tree extends that
// one (consistency proof): RFC 9162 section 2.1 with SHA-256. Written for this project; a phone
// reaching the service over plain HTTP has no crypto.subtle, so SHA-256 is here too.
(function () {
  "use strict";

  var K = [
    0x428a2f98, 0x71374491, 0xb5c0fbcf, 0xe9b5dba5, 0x3956c25b, 0x59f111f1, 0x923f82a4, 0xab1c5ed5,
    0xd807aa98, 0x12835b01, 0x243185be, 0x550c7dc3, 0x72be5d74, 0x80deb1fe, 0x9bdc06a7, 0xc19bf174,
    0xe49b69c1, 0xefbe4786, 0x0fc19dc6, 0x240ca1cc, 0x2de92c6f, 0x4a7484aa, 0x5cb0a9dc, 0x76f988da,
    0x983e5152, 0xa831c66d, 0xb00327c8, 0xbf597fc7, 0xc6e00bf3, 0xd5a79147, 0x06ca6351, 0x14292967,
    0x27b70a85, 0x2e1b2138, 0x4d2c6dfc, 0x53380d13, 0x650a7354, 0x766a0abb, 0x81c2c92e, 0x92722c85,
    0xa2bfe8a1, 0xa81a664b, 0xc24b8b70, 0xc76c51a3, 0xd192e819, 0xd6990624, 0xf40e3585, 0x106aa070,
    0x19a4c116, 0x1e376c08, 0x2748774c, 0x34b0bcb5, 0x391c0cb3, 0x4ed8aa4a, 0x5b9cca4f, 0x682e6ff3,
    0x748f82ee, 0x78a5636f, 0x84c87814, 0x8cc70208, 0x90befffa, 0xa4506ceb, 0xbef9a3f7, 0xc67178f2
  ];

  function ror(x, n) { return (x >>> n) | (x << (32 - n)); }

  // SHA-256 of a Uint8Array (FIPS 180-4), answered as a Uint8Array of 32 bytes.
  function sha256(bytes) {
    var h = [0x6a09e667, 0xbb67ae85, 0x3c6ef372, 0xa54ff53a, 0x510e527f, 0x9b05688c, 0x1f83d9ab, 0x5be0cd19];
    var length = bytes.length;
    var total = Math.ceil((length + 9) / 64) * 64;
    var m = new Uint8Array(total);
    m.set(bytes);
    m[length] = 0x80;
    var bits = length * 8;
    var high = Math.floor(bits / 0x100000000);
    var low = bits >>> 0;
    for (var b = 0; b < 4; b++) {
      m[total - 8 + b] = (high >>> (24 - 8 * b)) & 255;
      m[total - 4 + b] = (low >>> (24 - 8 * b)) & 255;
    }
    var w = new Array(64);
    for (var off = 0; off < total; off += 64) {
      var i;
      for (i = 0; i < 16; i++) {
        var j = off + 4 * i;
        w[i] = (m[j] << 24) | (m[j + 1] << 16) | (m[j + 2] << 8) | m[j + 3];
      }
      for (i = 16; i < 64; i++) {
        var x = w[i - 15], y = w[i - 2];
        var s0 = ror(x, 7) ^ ror(x, 18) ^ (x >>> 3);
        var s1 = ror(y, 17) ^ ror(y, 19) ^ (y >>> 10);
        w[i] = (w[i - 16] + s0 + w[i - 7] + s1) | 0;
      }
      var a = h[0], c1 = h[1], c2 = h[2], d = h[3], e = h[4], f = h[5], g = h[6], k = h[7];
      for (i = 0; i < 64; i++) {
        var t1 = (k + (ror(e, 6) ^ ror(e, 11) ^ ror(e, 25)) + ((e & f) ^ (~e & g)) + K[i] + w[i]) | 0;
        var t2 = ((ror(a, 2) ^ ror(a, 13) ^ ror(a, 22)) + ((a & c1) ^ (a & c2) ^ (c1 & c2))) | 0;
        k = g; g = f; f = e; e = (d + t1) | 0; d = c2; c2 = c1; c1 = a; a = (t1 + t2) | 0;
      }
      h[0] = (h[0] + a) | 0; h[1] = (h[1] + c1) | 0; h[2] = (h[2] + c2) | 0; h[3] = (h[3] + d) | 0;
      h[4] = (h[4] + e) | 0; h[5] = (h[5] + f) | 0; h[6] = (h[6] + g) | 0; h[7] = (h[7] + k) | 0;
    }
    var out = new Uint8Array(32);
    for (var n = 0; n < 8; n++) {
      out[4 * n] = (h[n] >>> 24) & 255;
      out[4 * n + 1] = (h[n] >>> 16) & 255;
      out[4 * n + 2] = (h[n] >>> 8) & 255;
      out[4 * n + 3] = h[n] & 255;
    }
    return out;
  }

  function fromHex(text) {
    if (!/^([0-9a-fA-F]{2})*$/.test(text)) { return null; }
    var out = new Uint8Array(text.length / 2);
    for (var i = 0; i < out.length; i++) { out[i] = parseInt(text.substr(2 * i, 2), 16); }
    return out;
  }

  function toHex(bytes) {
    var s = "";
    for (var i = 0; i < bytes.length; i++) { s += (bytes[i] < 16 ? "0" : "") + bytes[i].toString(16); }
    return s;
  }

  function same(x, y) {
    if (x.length !== y.length) { return false; }
    for (var i = 0; i < x.length; i++) { if (x[i] !== y[i]) { return false; } }
    return true;
  }

  function prefixed(tag, parts) {
    var length = 1;
    parts.forEach(function (p) { length += p.length; });
    var m = new Uint8Array(length);
    m[0] = tag;
    var at = 1;
    parts.forEach(function (p) { m.set(p, at); at += p.length; });
    return sha256(m);
  }

  // RFC 9162 2.1.1: leaves and nodes are hashed apart.
  function leafHash(entry) { return prefixed(0, [entry]); }
  function nodeHash(left, right) { return prefixed(1, [left, right]); }

  // Sizes are plain numbers (exact to 2^53); no 32-bit bit operations on them.
  function odd(n) { return n % 2 === 1; }
  function half(n) { return Math.floor(n / 2); }
  function powerOfTwo(n) { while (n > 1 && !odd(n)) { n = half(n); } return n === 1; }

  // RFC 9162 2.1.3.2.
  function verifyInclusion(index, size, leaf, proof, root) {
    if (index >= size) { return false; }
    var f = index, s = size - 1, r = leaf;
    for (var i = 0; i < proof.length; i++) {
      if (s === 0) { return false; }
      if (odd(f) || f === s) {
        r = nodeHash(proof[i], r);
        if (!odd(f)) { while (!odd(f) && f !== 0) { f = half(f); s = half(s); } }
      } else {
        r = nodeHash(r, proof[i]);
      }
      f = half(f); s = half(s);
    }
    return s === 0 && same(r, root);
  }

  // RFC 9162 2.1.4.2.
  function verifyConsistency(first, second, firstRoot, secondRoot, proof) {
    if (first > second) { return false; }
    if (first === 0 || first === second) {
      return proof.length === 0 && (first === 0 || same(firstRoot, secondRoot));
    }
    if (proof.length === 0) { return false; }
    var path = powerOfTwo(first) ? [firstRoot].concat(proof) : proof.slice();
    var f = first - 1, s = second - 1;
    while (odd(f)) { f = half(f); s = half(s); }
    var fr = path[0], sr = path[0];
    for (var i = 1; i < path.length; i++) {
      if (s === 0) { return false; }
      if (odd(f) || f === s) {
        fr = nodeHash(path[i], fr);
        sr = nodeHash(path[i], sr);
        if (!odd(f)) { while (!odd(f) && f !== 0) { f = half(f); s = half(s); } }
      } else {
        sr = nodeHash(sr, path[i]);
      }
      f = half(f); s = half(s);
    }
    return s === 0 && same(fr, firstRoot) && same(sr, secondRoot);
  }

  function hashes(text) {
    var list = text.split(" ").filter(function (h) { return h.length > 0; }).map(fromHex);
    return list.some(function (h) { return h === null || h.length !== 32; }) ? null : list;
  }

  // Reads the page's proof data and writes the verdict; answers "ok" or "bad".
  function run() {
    var box = document.getElementById("proof");
    var out = document.getElementById("browser-verdict");
    if (!box || !out) { return "none"; }
    var d = function (name) { return box.getAttribute("data-" + name) || ""; };
    var index = Number(d("index")), size = Number(d("size")), latestSize = Number(d("latest-size"));
    var entry = fromHex(d("chain-hash")), root = fromHex(d("root")), latestRoot = fromHex(d("latest-root"));
    var inclusion = hashes(d("inclusion")), consistency = hashes(d("consistency"));
    var included = false, consistent = false;
    if (entry && entry.length === 32 && root && root.length === 32 && inclusion) {
      included = verifyInclusion(index, size, leafHash(entry), inclusion, root);
    }
    if (root && latestRoot && latestRoot.length === 32 && consistency) {
      consistent = verifyConsistency(size, latestSize, root, latestRoot, consistency);
    }
    var ok = included && consistent;
    out.setAttribute("data-verdict", ok ? "ok" : "bad");
    out.className = "verdict " + (ok ? "ok" : "bad");
    out.textContent = ok
      ? "✔ 您的手机重新算过：这一笔在签名时的账本里，最新的账本是在它后面续写的。"
      : "✘ 您的手机重新算过，没有通过：" +
        (included ? "" : "这一笔不在签名时的账本里；") +
        (consistent ? "" : "最新的账本不是在签名时的账本后面续写的；") +
        "请保留凭证并告知社区居委会或镇（街道）。";
    return ok ? "ok" : "bad";
  }

  window.moralbankCheck = {
    sha256Hex: function (hex) { return toHex(sha256(fromHex(hex))); },
    leafHashHex: function (hex) { return toHex(leafHash(fromHex(hex))); },
    verifyInclusion: function (index, size, leafHex, proofHex, rootHex) {
      return verifyInclusion(index, size, fromHex(leafHex), proofHex.map(fromHex), fromHex(rootHex));
    },
    verifyConsistency: function (first, second, firstHex, secondHex, proofHex) {
      return verifyConsistency(first, second, fromHex(firstHex), fromHex(secondHex), proofHex.map(fromHex));
    },
    run: run
  };
  run();
})();
