import Foundation
import Geometry
import Imaging
import Render
import Support

/// The interactive view of a fit's report: the mesh textured with the field's prediction (the
/// baked texture) beside the ground truth (the input texture), drawn by WebGL2 from one orbit
/// camera, with a toggle for the error heat map and the test cameras as frusta one can jump to.
///
/// Everything the page needs is in `viewer.js` beside report.html — the geometry as base64
/// Float32/Uint32 arrays and both textures as PNG data URIs — because a page opened from
/// `file://` may not read other files into WebGL (they would be cross-origin). No network, no CDN.
/// Meshes above `maximumTriangles` are decimated for the viewer (quadric error metrics, seams
/// kept); textures above `maximumTextureSide` are halved until they fit.
public enum ReportViewer {
    /// Triangles shown at most (a larger mesh is decimated to about this many for the viewer).
    public static let maximumTriangles = 250_000
    /// Longest texture side shown (larger textures are halved, by 2 × 2 box filtering, until they fit).
    public static let maximumTextureSide = 2048
    /// Full scale of the heat map: |error| averaged over RGB, as the report's still views.
    public static let heatScale: Float = 0.1

    public struct Summary: Sendable {
        public var triangles: Int
        /// Vertices after splitting at texture seams (what WebGL draws).
        public var vertices: Int
        /// The mesh's triangle count when it was decimated for the viewer.
        public var decimatedFrom: Int?
        public var bytes: Int
        /// Seconds to prepare and write viewer.js (decimation included).
        public var seconds: Double
    }

    /// Writes `dir/viewer.js` for `mesh` (which must have texture coordinates), the baked
    /// prediction, the ground-truth texture (nil for a fit to photographs: prediction only) and the
    /// test cameras. Returns what was written.
    @discardableResult
    public static func write(to dir: String, mesh: Mesh, predicted: Image, truth: Image?, cameras: [Camera],
                             maximumTriangles: Int = maximumTriangles) throws -> Summary {
        let t0 = Date()
        guard mesh.hasTexcoords else { throw FieldError.noTexcoords("the viewer needs texture coordinates on every face") }
        var shown = mesh, decimatedFrom: Int?
        if mesh.triangleCount > maximumTriangles {
            shown = try mesh.decimated(toVertices: max(100, maximumTriangles / 2)).0
            decimatedFrom = mesh.triangleCount
        }
        // One WebGL vertex per distinct (position, texture coordinate) pair.
        var index = [Int64: UInt32](), positions = [Float](), uvs = [Float](), indices = [UInt32]()
        indices.reserveCapacity(shown.triangles.count)
        for c in shown.triangles.indices {
            let p = Int(shown.triangles[c]), t = Int(shown.cornerTexcoords[c])
            let key = Int64(p) << 32 | Int64(t)
            if let i = index[key] { indices.append(i); continue }
            let i = UInt32(positions.count / 3)
            index[key] = i
            positions += [Float(shown.positions[3 * p]), Float(shown.positions[3 * p + 1]), Float(shown.positions[3 * p + 2])]
            uvs += [Float(shown.texcoords[2 * t]), Float(shown.texcoords[2 * t + 1])]
            indices.append(i)
        }
        let (lo, hi) = shown.boundingBox
        let center = (lo + hi) / 2, radius = max(1e-9, ((hi - lo) * (hi - lo)).sum().squareRoot() / 2)
        func base64<T>(_ a: [T]) -> String { a.withUnsafeBytes { Data($0).base64EncodedString() } }
        func dataURI(_ image: Image) throws -> String {
            var im = image.channels == 3 ? image : image.rgb()
            while max(im.width, im.height) > maximumTextureSide { im = halved(im) }
            return "data:image/png;base64," + (try im.encodePNG()).base64EncodedString()
        }
        // through JSONEncoder, which refuses NaN and infinities (they would break the page's script)
        struct ViewerCamera: Encodable { let w: Int, h: Int, fx: Double, fy: Double, cx: Double, cy: Double, R: [Double], C: [Double] }
        let cams = String(decoding: try JSONEncoder().encode(cameras.map {
            ViewerCamera(w: $0.width, h: $0.height, fx: $0.fx, fy: $0.fy, cx: $0.cx, cy: $0.cy, R: $0.rotation, C: $0.center)
        }), as: UTF8.self)
        guard [center.x, center.y, center.z, radius].allSatisfy(\.isFinite) else {
            throw FieldError.invalid("the viewer: the mesh's bounding box is not finite")
        }
        var js = "// texfield report viewer data: geometry (base64 little-endian arrays), textures (PNG), test cameras (OpenCV axes, camera-to-world).\n"
        js += "window.TEXFIELD_VIEWER = {\n"
        js += "\"vertices\": \(positions.count / 3), \"triangles\": \(indices.count / 3), \"decimatedFrom\": \(decimatedFrom.map(String.init) ?? "null"),\n"
        js += "\"center\": [\(center.x), \(center.y), \(center.z)], \"radius\": \(radius), \"heatScale\": \(heatScale),\n"
        js += "\"positions\": \"\(base64(positions))\",\n\"uvs\": \"\(base64(uvs))\",\n\"indices\": \"\(base64(indices))\",\n"
        js += "\"predicted\": \"\(try dataURI(predicted))\",\n"
        js += "\"truth\": \(try truth.map { "\"\(try dataURI($0))\"" } ?? "null"),\n"
        js += "\"cameras\": \(cams)\n};\n"
        let data = Data(js.utf8)
        try AtomicFile.write(data, to: dir + "/viewer.js")
        return Summary(triangles: indices.count / 3, vertices: positions.count / 3, decimatedFrom: decimatedFrom, bytes: data.count,
                       seconds: Date().timeIntervalSince(t0))
    }

    /// The image at half size (2 × 2 box filter; an odd last row or column is dropped).
    static func halved(_ im: Image) -> Image {
        let w = max(1, im.width / 2), h = max(1, im.height / 2), c = im.channels
        var out = Image(width: w, height: h, channels: c)
        for y in 0..<h { for x in 0..<w { for k in 0..<c {
            var s: Float = 0
            for dy in 0..<2 { for dx in 0..<2 {
                let sx = min(im.width - 1, 2 * x + dx), sy = min(im.height - 1, 2 * y + dy)
                s += im.pixels[(sy * im.width + sx) * c + k]
            } }
            out.pixels[(y * w + x) * c + k] = s / 4
        } } }
        return out
    }

    /// The viewer's section of report.html: the canvas, its controls, `viewer.js` and the WebGL2
    /// program. Mouse: drag to orbit, wheel to zoom; the buttons toggle the heat map and jump to a
    /// test camera. `report.html#viewer-test` runs a scripted check (draws, orbits, toggles, jumps,
    /// reads the pixels back) and writes its result as JSON into `#tfv-status`; the page's title
    /// then becomes `viewer: ok` or `viewer: error`. `#viewer-state=az:120,el:10,heat,jump:2` opens
    /// the view in that state (for screenshots).
    public static func html(hasTruth: Bool, note: String) -> String {
        """
        <h2>Interactive view</h2>
        <p>\(hasTruth ? "Left: the field (its baked texture); right: the ground truth (the input texture)." : "The field (its baked texture).")
        Drag to orbit, wheel to zoom; the camera drives both. \(FitReport.esc(note))</p>
        <div id="tfv-controls">\(hasTruth ? "<button id=\"tfv-heat\">error heat map</button> " : "")<button id="tfv-reset">reset view</button>
        <span id="tfv-cams"> test cameras:</span></div>
        <canvas id="tfv-canvas" width="1100" height="520" style="width: 100%; max-width: 1100px; border: 1px solid #ddd; touch-action: none"></canvas>
        <pre id="tfv-status" style="font-size: 0.8em; background: none; padding: 0"></pre>
        <script src="viewer.js"></script>
        <script>
        \(script)
        </script>
        """
    }

    /// The WebGL2 program (plain JavaScript, no libraries).
    static let script = #"""
    (function () {
      "use strict";
      const t0 = performance.now();
      const status = { ready: false, errors: [], frames: 0, nonblank: [], loadMs: null, scriptMs: null };
      const statusEl = document.getElementById("tfv-status");
      const show = () => { statusEl.textContent = JSON.stringify(status); };
      const testing = decodeURIComponent(location.hash || "") === "#viewer-test";
      const fail = (m) => { status.errors.push(String(m)); if (testing) document.title = "viewer: error"; show(); };
      window.addEventListener("error", (e) => fail(e.message || e));
      const D = window.TEXFIELD_VIEWER;
      if (!D) { fail("viewer.js did not load"); return; }
      const canvas = document.getElementById("tfv-canvas");
      const gl = canvas.getContext("webgl2", { preserveDrawingBuffer: true, antialias: true });
      if (!gl) { fail("WebGL2 is not available in this browser"); return; }
      const hasTruth = !!D.truth;

      function decode(s, T) {
        const bin = atob(s), u8 = new Uint8Array(bin.length);
        for (let i = 0; i < bin.length; i++) u8[i] = bin.charCodeAt(i);
        return new T(u8.buffer);
      }
      function compile(vs, fs) {
        const p = gl.createProgram();
        for (const [type, src] of [[gl.VERTEX_SHADER, vs], [gl.FRAGMENT_SHADER, fs]]) {
          const s = gl.createShader(type);
          gl.shaderSource(s, src); gl.compileShader(s);
          if (!gl.getShaderParameter(s, gl.COMPILE_STATUS)) throw new Error("shader: " + gl.getShaderInfoLog(s));
          gl.attachShader(p, s);
        }
        gl.linkProgram(p);
        if (!gl.getProgramParameter(p, gl.LINK_STATUS)) throw new Error("program: " + gl.getProgramInfoLog(p));
        return p;
      }
      const surface = compile(`#version 300 es
        in vec3 aPos; in vec2 aUV; uniform mat4 uMVP; out vec2 vUV;
        void main() { vUV = aUV; gl_Position = uMVP * vec4(aPos, 1.0); }`,
      `#version 300 es
        precision highp float; in vec2 vUV; uniform sampler2D uPred, uTruth; uniform int uMode; uniform float uScale; out vec4 o;
        void main() {
          vec3 p = texture(uPred, vUV).rgb;
          if (uMode == 1) { o = vec4(texture(uTruth, vUV).rgb, 1.0); return; }
          if (uMode == 2) {
            vec3 d = abs(p - texture(uTruth, vUV).rgb);
            float s = clamp((d.r + d.g + d.b) / 3.0 / uScale, 0.0, 1.0) * 3.0;
            o = vec4(min(1.0, s), clamp(s - 1.0, 0.0, 1.0), clamp(s - 2.0, 0.0, 1.0), 1.0); return;
          }
          o = vec4(p, 1.0);
        }`);
      const lines = compile(`#version 300 es
        in vec3 aPos; uniform mat4 uMVP; void main() { gl_Position = uMVP * vec4(aPos, 1.0); }`,
      `#version 300 es
        precision highp float; uniform vec3 uColor; out vec4 o; void main() { o = vec4(uColor, 1.0); }`);

      // geometry
      const pos = decode(D.positions, Float32Array), uv = decode(D.uvs, Float32Array), idx = decode(D.indices, Uint32Array);
      const vao = gl.createVertexArray();
      gl.bindVertexArray(vao);
      function attribute(program, name, data, size) {
        const b = gl.createBuffer(); gl.bindBuffer(gl.ARRAY_BUFFER, b); gl.bufferData(gl.ARRAY_BUFFER, data, gl.STATIC_DRAW);
        const loc = gl.getAttribLocation(program, name); gl.enableVertexAttribArray(loc); gl.vertexAttribPointer(loc, size, gl.FLOAT, false, 0, 0);
      }
      attribute(surface, "aPos", pos, 3); attribute(surface, "aUV", uv, 2);
      const ib = gl.createBuffer(); gl.bindBuffer(gl.ELEMENT_ARRAY_BUFFER, ib); gl.bufferData(gl.ELEMENT_ARRAY_BUFFER, idx, gl.STATIC_DRAW);
      gl.bindVertexArray(null);

      // frusta of the test cameras: apex to the four image corners at depth s, and the rectangle
      const C0 = D.center, R0 = D.radius;
      const frustumVerts = [];
      D.cameras.forEach((c) => {
        const s = 0.25 * R0, R = c.R, Cc = c.C;
        const corner = (u, v) => {
          const d = [(u - c.cx) / c.fx, (v - c.cy) / c.fy, 1];
          return [0, 1, 2].map((i) => Cc[i] + s * (R[3 * i] * d[0] + R[3 * i + 1] * d[1] + R[3 * i + 2] * d[2]));
        };
        const k = [corner(0, 0), corner(c.w, 0), corner(c.w, c.h), corner(0, c.h)];
        for (let i = 0; i < 4; i++) { frustumVerts.push(...Cc, ...k[i], ...k[i], ...k[(i + 1) % 4]); }
      });
      const fvao = gl.createVertexArray();
      gl.bindVertexArray(fvao);
      attribute(lines, "aPos", new Float32Array(frustumVerts), 3);
      gl.bindVertexArray(null);

      // 4×4 matrices, column-major as WebGL reads them
      const mul = (a, b) => { const o = new Float32Array(16); for (let c = 0; c < 4; c++) for (let r = 0; r < 4; r++) { let s = 0; for (let k = 0; k < 4; k++) s += a[k * 4 + r] * b[c * 4 + k]; o[c * 4 + r] = s; } return o; };
      const perspective = (fovY, aspect, n, f) => { const t = 1 / Math.tan(fovY / 2); return new Float32Array([t / aspect, 0, 0, 0, 0, t, 0, 0, 0, 0, (f + n) / (n - f), -1, 0, 0, 2 * f * n / (n - f), 0]); };
      const sub = (a, b) => [a[0] - b[0], a[1] - b[1], a[2] - b[2]];
      const cross = (a, b) => [a[1] * b[2] - a[2] * b[1], a[2] * b[0] - a[0] * b[2], a[0] * b[1] - a[1] * b[0]];
      const norm = (a) => { const l = Math.hypot(a[0], a[1], a[2]) || 1; return [a[0] / l, a[1] / l, a[2] / l]; };
      const dot = (a, b) => a[0] * b[0] + a[1] * b[1] + a[2] * b[2];
      // world → eye from the eye's axes (x right, y up, z backwards) and its position
      const viewFrom = (x, y, z, e) => new Float32Array([x[0], y[0], z[0], 0, x[1], y[1], z[1], 0, x[2], y[2], z[2], 0, -dot(x, e), -dot(y, e), -dot(z, e), 1]);
      const lookAt = (e, target, up) => { const z = norm(sub(e, target)), x = norm(cross(up, z)), y = cross(z, x); return viewFrom(x, y, z, e); };

      // the camera: an orbit around the centre, or one of the test cameras
      const view = { az: 0.6, el: 0.35, dist: 3 * R0, fovY: 0.7, heat: false, cam: -1 };
      function eyeOf() { const ce = Math.cos(view.el); return [C0[0] + view.dist * ce * Math.sin(view.az), C0[1] + view.dist * Math.sin(view.el), C0[2] + view.dist * ce * Math.cos(view.az)]; }
      function viewMatrix() {
        if (view.cam >= 0) {
          const c = D.cameras[view.cam], R = c.R;  // OpenCV columns: x right, y down, z forward
          const x = [R[0], R[3], R[6]], y = [-R[1], -R[4], -R[7]], z = [-R[2], -R[5], -R[8]];
          return viewFrom(x, y, z, c.C);
        }
        return lookAt(eyeOf(), C0, [0, 1, 0]);
      }

      // textures, from the data URIs (same-origin: usable by WebGL even from file://)
      function texture(uri) {
        return new Promise((resolve, reject) => {
          const img = new Image();
          img.onload = () => {
            const t = gl.createTexture();
            gl.bindTexture(gl.TEXTURE_2D, t);
            gl.pixelStorei(gl.UNPACK_FLIP_Y_WEBGL, true);
            gl.pixelStorei(gl.UNPACK_COLORSPACE_CONVERSION_WEBGL, gl.NONE);
            gl.texImage2D(gl.TEXTURE_2D, 0, gl.RGBA, gl.RGBA, gl.UNSIGNED_BYTE, img);
            gl.generateMipmap(gl.TEXTURE_2D);
            gl.texParameteri(gl.TEXTURE_2D, gl.TEXTURE_MIN_FILTER, gl.LINEAR_MIPMAP_LINEAR);
            gl.texParameteri(gl.TEXTURE_2D, gl.TEXTURE_WRAP_S, gl.CLAMP_TO_EDGE);
            gl.texParameteri(gl.TEXTURE_2D, gl.TEXTURE_WRAP_T, gl.CLAMP_TO_EDGE);
            resolve(t);
          };
          img.onerror = () => reject(new Error("a texture did not decode"));
          img.src = uri;
        });
      }

      let texPred = null, texTruth = null;
      const background = [1, 1, 1];
      function draw() {
        const W = canvas.width, H = canvas.height, panels = hasTruth ? 2 : 1, pw = Math.floor(W / panels);
        gl.enable(gl.SCISSOR_TEST);
        gl.scissor(0, 0, W, H); gl.viewport(0, 0, W, H);
        gl.clearColor(background[0], background[1], background[2], 1); gl.clear(gl.COLOR_BUFFER_BIT | gl.DEPTH_BUFFER_BIT);
        gl.enable(gl.DEPTH_TEST);
        let fovY = view.fovY;
        if (view.cam >= 0) { const c = D.cameras[view.cam]; fovY = 2 * Math.atan(0.5 * c.h / c.fy); }
        const far = view.cam >= 0 ? Math.hypot(...sub(D.cameras[view.cam].C, C0)) + 2 * R0 : view.dist + 2 * R0;
        const mvp = mul(perspective(fovY, pw / H, Math.max(1e-4 * R0, far / 1e4), far), viewMatrix());
        for (let p = 0; p < panels; p++) {
          gl.viewport(p * pw, 0, pw, H); gl.scissor(p * pw, 0, pw, H);
          gl.useProgram(surface);
          gl.uniformMatrix4fv(gl.getUniformLocation(surface, "uMVP"), false, mvp);
          gl.activeTexture(gl.TEXTURE0); gl.bindTexture(gl.TEXTURE_2D, texPred);
          gl.activeTexture(gl.TEXTURE1); gl.bindTexture(gl.TEXTURE_2D, texTruth || texPred);
          gl.uniform1i(gl.getUniformLocation(surface, "uPred"), 0);
          gl.uniform1i(gl.getUniformLocation(surface, "uTruth"), 1);
          gl.uniform1i(gl.getUniformLocation(surface, "uMode"), p === 1 ? 1 : (view.heat ? 2 : 0));
          gl.uniform1f(gl.getUniformLocation(surface, "uScale"), D.heatScale);
          gl.bindVertexArray(vao);
          gl.drawElements(gl.TRIANGLES, idx.length, gl.UNSIGNED_INT, 0);
          gl.useProgram(lines);
          gl.uniformMatrix4fv(gl.getUniformLocation(lines, "uMVP"), false, mvp);
          gl.bindVertexArray(fvao);
          D.cameras.forEach((_, i) => {
            if (i === view.cam) return;  // seen from itself, its frustum would frame the panel
            gl.uniform3fv(gl.getUniformLocation(lines, "uColor"), [0.2, 0.35, 0.8]);
            gl.drawArrays(gl.LINES, i * 16, 16);
          });
        }
        gl.bindVertexArray(null);
        status.frames++;
      }
      let pending = false;
      const redraw = () => { if (!pending && status.ready) { pending = true; requestAnimationFrame(() => { pending = false; draw(); }); } };
      // the fraction of pixels that are not background (a blank canvas gives 0)
      function nonblank() {
        const W = canvas.width, H = canvas.height, px = new Uint8Array(W * H * 4);
        gl.readPixels(0, 0, W, H, gl.RGBA, gl.UNSIGNED_BYTE, px);
        let n = 0;
        for (let i = 0; i < px.length; i += 4) if (px[i] < 250 || px[i + 1] < 250 || px[i + 2] < 250) n++;
        return n / (W * H);
      }

      // interaction
      const fromCamera = () => {
        if (view.cam < 0) return;
        const d = sub(D.cameras[view.cam].C, C0), r = Math.hypot(d[0], d[1], d[2]);
        view.dist = r; view.el = Math.asin(Math.max(-1, Math.min(1, d[1] / r))); view.az = Math.atan2(d[0], d[2]); view.cam = -1;
      };
      let drag = null;
      canvas.addEventListener("pointerdown", (e) => { drag = [e.clientX, e.clientY]; canvas.setPointerCapture(e.pointerId); });
      canvas.addEventListener("pointerup", () => { drag = null; });
      canvas.addEventListener("pointermove", (e) => {
        if (!drag) return;
        fromCamera();
        view.az -= 0.01 * (e.clientX - drag[0]);
        view.el = Math.max(-1.5, Math.min(1.5, view.el + 0.01 * (e.clientY - drag[1])));
        drag = [e.clientX, e.clientY]; redraw();
      });
      canvas.addEventListener("wheel", (e) => { e.preventDefault(); fromCamera(); view.dist *= Math.exp(0.001 * e.deltaY); redraw(); }, { passive: false });
      const heatButton = document.getElementById("tfv-heat");
      if (heatButton) heatButton.onclick = () => { view.heat = !view.heat; redraw(); };
      document.getElementById("tfv-reset").onclick = () => { Object.assign(view, { az: 0.6, el: 0.35, dist: 3 * R0, cam: -1 }); redraw(); };
      const cams = document.getElementById("tfv-cams");
      D.cameras.forEach((_, i) => {
        const b = document.createElement("button"); b.textContent = String(i); b.title = "test view " + i;
        b.onclick = () => { view.cam = i; redraw(); }; cams.appendChild(document.createTextNode(" ")); cams.appendChild(b);
      });

      // start, then the scripted check or state the address asks for
      Promise.all([texture(D.predicted), hasTruth ? texture(D.truth) : Promise.resolve(null)]).then(([p, t]) => {
        texPred = p; texTruth = t; status.ready = true;
        draw();
        status.loadMs = Math.round(performance.now());  // from the start of navigation to the first frame
        status.scriptMs = Math.round(performance.now() - t0);
        const hash = decodeURIComponent(location.hash || "");
        if (hash.startsWith("#viewer-state=")) {
          for (const part of hash.slice(14).split(",")) {
            const [k, v] = part.split(":");
            if (k === "az") view.az = Number(v) * Math.PI / 180;
            if (k === "el") view.el = Number(v) * Math.PI / 180;
            if (k === "heat") view.heat = hasTruth;
            if (k === "jump" && D.cameras[Number(v)]) view.cam = Number(v);
          }
          draw();
          status.nonblank.push(nonblank());
        }
        if (hash === "#viewer-test") {
          const steps = [() => {}, () => { view.az += 2.1; }, () => { view.el = -0.4; view.dist *= 0.8; },
                         () => { view.heat = hasTruth; }, () => { if (D.cameras.length) view.cam = 0; }];
          for (const s of steps) { s(); draw(); status.nonblank.push(nonblank()); }
          const err = gl.getError();
          if (err !== gl.NO_ERROR) status.errors.push("WebGL error " + err);
        }
        if (testing && !status.errors.length) document.title = "viewer: ok";
        show();
      }).catch(fail);
      show();
    })();
    """#
}
