// The 3D view of an analysed print file (issue 7), on the job page and the status page.
//
// Each preview picture whose markup names a mesh (data-viewer-mesh, the compact mesh of
// printdesk/files/viewer_mesh.py) gets a "Rotate in 3D" button, only where WebGL works. The mesh
// is fetched when the button is pressed, never with the page. Then a canvas takes the picture's
// place: flat shading lit as the picture is, drag to orbit, wheel or pinch to zoom, arrow keys
// and + / - on the focused canvas, a Reset button. The picture stays in the page: everything
// works without this file. Vanilla WebGL 1, no library, no build step.
(function () {
  "use strict";

  var HEADER_BYTES = 36; // magic, version, reserved, count, box min and max (viewer_mesh.py)
  var BYTES_PER_TRIANGLE = 18;
  var START = { azimuth: 45, elevation: 30, zoom: 1 }; // degrees: the picture's view
  var KEY_STEP = 10; // degrees per arrow key
  var DRAG_DEGREES_PER_PIXEL = 0.5;
  var MARGIN = 0.94; // of the frame: the part's bounding sphere fills this much
  var ZOOM_MIN = 0.5, ZOOM_MAX = 20;
  var HELP = "Drag to rotate, scroll or pinch to zoom; with the view focused, the arrow keys " +
    "rotate and + and − zoom.";

  // In view coordinates (right, up, towards the viewer), as printdesk/files/preview.py lights
  // its picture: ambient, a key light from the upper left, a fill light from the viewer.
  var VERTEX_SHADER = [
    "attribute vec3 aCorner;", // 0 to 1 within the part's box (normalised uint16)
    "attribute vec3 aNormal;", // the face's normal in millimetres (normalised int8)
    "uniform vec3 uHalfSpan;", // half the box, over the radius of its bounding sphere
    "uniform mat3 uView;",
    "uniform vec2 uScale;",
    "varying float vLight;",
    "const vec3 KEY = vec3(-0.2, 0.6, 0.8) / 1.0198039;",
    "void main() {",
    "  vec3 p = uView * ((aCorner * 2.0 - 1.0) * uHalfSpan);",
    "  vec3 n = uView * aNormal;",
    "  float size = length(n);",
    "  n = size > 0.0 ? n / size : vec3(0.0, 0.0, 1.0);",
    "  if (n.z < 0.0) { n = -n; }", // files disagree on winding: face the viewer
    "  vLight = 0.32 + 0.55 * max(dot(n, KEY), 0.0) + 0.20 * n.z;",
    "  gl_Position = vec4(p.x * uScale.x, p.y * uScale.y, -0.5 * p.z, 1.0);",
    "}"
  ].join("\n");
  var FRAGMENT_SHADER = [
    "precision mediump float;",
    "varying float vLight;",
    "const vec3 PART = vec3(118.0, 168.0, 222.0) / 255.0;",
    "void main() { gl_FragColor = vec4(PART * min(vLight, 1.0), 1.0); }"
  ].join("\n");
  var BACKGROUND = [245 / 255, 245 / 255, 243 / 255];

  function webglWorks() {
    try {
      var gl = document.createElement("canvas").getContext("webgl");
      if (!gl) { return false; }
      var lose = gl.getExtension("WEBGL_lose_context");
      if (lose) { lose.loseContext(); } // browsers keep only a few contexts: give this one back
      return true;
    } catch (error) {
      return false;
    }
  }

  // The mesh's bytes as WebGL takes them; throws on anything else.
  function parse(buffer) {
    if (buffer.byteLength < HEADER_BYTES) { throw new Error("too short"); }
    var data = new DataView(buffer);
    var magic = String.fromCharCode(data.getUint8(0), data.getUint8(1), data.getUint8(2),
      data.getUint8(3));
    if (magic !== "PDVM" || data.getUint16(4, true) !== 1) { throw new Error("not a mesh"); }
    var count = data.getUint32(8, true);
    if (buffer.byteLength !== HEADER_BYTES + count * BYTES_PER_TRIANGLE) {
      throw new Error("truncated");
    }
    var low = [], high = [];
    for (var axis = 0; axis < 3; axis += 1) {
      low.push(data.getFloat32(12 + 4 * axis, true));
      high.push(data.getFloat32(24 + 4 * axis, true));
    }
    // Typed arrays use the machine's byte order: little-endian on every browser's platform.
    var corners = new Uint16Array(buffer, HEADER_BYTES, count * 9);
    return { count: count, low: low, high: high, corners: corners };
  }

  // One normal per face, in millimetres, repeated for its three corners; 4 bytes per corner.
  function normals(mesh) {
    var s = [0, 1, 2].map(function (a) { return (mesh.high[a] - mesh.low[a]) / 65535; });
    var q = mesh.corners;
    var out = new Int8Array(mesh.count * 12);
    for (var t = 0; t < mesh.count; t += 1) {
      var i = t * 9;
      var ux = (q[i + 3] - q[i]) * s[0], uy = (q[i + 4] - q[i + 1]) * s[1];
      var uz = (q[i + 5] - q[i + 2]) * s[2];
      var vx = (q[i + 6] - q[i]) * s[0], vy = (q[i + 7] - q[i + 1]) * s[1];
      var vz = (q[i + 8] - q[i + 2]) * s[2];
      var nx = uy * vz - uz * vy, ny = uz * vx - ux * vz, nz = ux * vy - uy * vx;
      var size = Math.sqrt(nx * nx + ny * ny + nz * nz) || 1;
      for (var c = 0; c < 3; c += 1) {
        var o = t * 12 + c * 4;
        out[o] = Math.round(nx / size * 127);
        out[o + 1] = Math.round(ny / size * 127);
        out[o + 2] = Math.round(nz / size * 127);
      }
    }
    return out;
  }

  // Rows: the screen's right, its up, and towards the viewer; Z up (preview.py's _view).
  function viewMatrix(azimuthDeg, elevationDeg) {
    var a = azimuthDeg * Math.PI / 180, e = elevationDeg * Math.PI / 180;
    var towards = [Math.cos(e) * Math.sin(a), -Math.cos(e) * Math.cos(a), Math.sin(e)];
    var right = [Math.cos(a), Math.sin(a), 0];
    var up = [
      towards[1] * right[2] - towards[2] * right[1],
      towards[2] * right[0] - towards[0] * right[2],
      towards[0] * right[1] - towards[1] * right[0]
    ];
    // GLSL reads a mat3 column by column.
    return new Float32Array([
      right[0], up[0], towards[0],
      right[1], up[1], towards[1],
      right[2], up[2], towards[2]
    ]);
  }

  function compile(gl, type, source) {
    var shader = gl.createShader(type);
    gl.shaderSource(shader, source);
    gl.compileShader(shader);
    if (!gl.getShaderParameter(shader, gl.COMPILE_STATUS)) {
      throw new Error(gl.getShaderInfoLog(shader) || "shader");
    }
    return shader;
  }

  function Viewer(holder) {
    this.holder = holder;
    this.url = holder.getAttribute("data-viewer-mesh");
    this.name = holder.getAttribute("data-viewer-name") || "the part";
    this.picture = holder.querySelector("img");
    this.mesh = null;
    this.gl = null;
    this.view = { azimuth: START.azimuth, elevation: START.elevation, zoom: START.zoom };
    this.pointers = {};
    this.frame = 0;
    this.build();
  }

  Viewer.prototype.button = function (text, label, onClick) {
    var button = document.createElement("button");
    button.type = "button";
    button.className = "secondary viewer-button";
    button.textContent = text;
    if (label) { button.setAttribute("aria-label", label); }
    button.addEventListener("click", onClick);
    return button;
  };

  Viewer.prototype.build = function () {
    var self = this;
    this.controls = document.createElement("div");
    this.controls.className = "viewer-controls";
    this.open = this.button("Rotate in 3D", "Rotate in 3D: " + this.name, function () {
      self.show();
    });
    this.reset = this.button("Reset view", "Reset the 3D view of " + this.name, function () {
      self.view = { azimuth: START.azimuth, elevation: START.elevation, zoom: START.zoom };
      self.draw();
    });
    this.close = this.button("Show picture", "Show the picture of " + this.name, function () {
      self.hide();
    });
    this.reset.hidden = this.close.hidden = true;
    this.status = document.createElement("p");
    this.status.className = "viewer-status";
    this.status.setAttribute("role", "status");
    this.controls.appendChild(this.open);
    this.controls.appendChild(this.reset);
    this.controls.appendChild(this.close);
    this.holder.appendChild(this.controls);
    this.holder.appendChild(this.status);
  };

  Viewer.prototype.say = function (text, problem) {
    this.status.textContent = text;
    this.status.classList.toggle("viewer-problem", Boolean(problem));
  };

  Viewer.prototype.show = function () {
    var self = this;
    this.open.disabled = true;
    if (this.mesh) {
      this.start();
      return;
    }
    this.say("Loading the 3D view…");
    fetch(this.url, { credentials: "same-origin" }).then(function (response) {
      if (!response.ok) { throw new Error("HTTP " + response.status); }
      return response.arrayBuffer();
    }).then(function (buffer) {
      self.mesh = parse(buffer);
      if (!self.mesh.count) { throw new Error("empty"); }
      self.start();
    }).catch(function () {
      self.mesh = null;
      self.open.disabled = false;
      self.say("The 3D view could not be loaded. The picture still shows the part; " +
        "try again later.", true);
    });
  };

  Viewer.prototype.start = function () {
    try {
      if (!this.canvas) { this.makeCanvas(); }
      if (!this.gl) { this.setUp(); }
    } catch (error) {
      this.open.disabled = false;
      this.say("This browser could not draw the 3D view. The picture still shows the part.",
        true);
      return;
    }
    this.holder.classList.add("is-3d");
    this.picture.hidden = true;
    this.canvas.hidden = false;
    this.open.hidden = true;
    this.reset.hidden = this.close.hidden = false;
    this.say(HELP);
    this.draw();
    this.canvas.focus();
  };

  Viewer.prototype.hide = function () {
    this.holder.classList.remove("is-3d");
    this.canvas.hidden = true;
    this.picture.hidden = false;
    this.reset.hidden = this.close.hidden = true;
    this.open.hidden = false;
    this.open.disabled = false;
    this.say("");
    this.open.focus();
  };

  Viewer.prototype.makeCanvas = function () {
    var self = this;
    var canvas = document.createElement("canvas");
    canvas.className = "viewer-canvas";
    canvas.tabIndex = 0;
    canvas.setAttribute("role", "img");
    canvas.setAttribute("aria-label", "3D view of " + this.name + ". " + HELP);
    canvas.hidden = true;
    this.holder.insertBefore(canvas, this.controls);
    this.canvas = canvas;
    canvas.addEventListener("webglcontextlost", function (event) {
      event.preventDefault();
      self.gl = null;
      self.say("The 3D view stopped (the browser took back its graphics). Press Show picture, " +
        "then Rotate in 3D to try again.", true);
    });
    canvas.addEventListener("pointerdown", function (event) {
      canvas.setPointerCapture(event.pointerId);
      self.pointers[event.pointerId] = { x: event.clientX, y: event.clientY };
    });
    canvas.addEventListener("pointermove", function (event) { self.onMove(event); });
    ["pointerup", "pointercancel"].forEach(function (type) {
      canvas.addEventListener(type, function (event) { delete self.pointers[event.pointerId]; });
    });
    canvas.addEventListener("wheel", function (event) {
      event.preventDefault();
      self.zoomBy(Math.exp(-event.deltaY * (event.deltaMode ? 0.05 : 0.002)));
    }, { passive: false });
    canvas.addEventListener("keydown", function (event) { self.onKey(event); });
    window.addEventListener("resize", function () { self.draw(); });
  };

  Viewer.prototype.setUp = function () {
    var gl = this.canvas.getContext("webgl", { antialias: true });
    if (!gl) { throw new Error("no WebGL"); }
    var program = gl.createProgram();
    gl.attachShader(program, compile(gl, gl.VERTEX_SHADER, VERTEX_SHADER));
    gl.attachShader(program, compile(gl, gl.FRAGMENT_SHADER, FRAGMENT_SHADER));
    gl.linkProgram(program);
    if (!gl.getProgramParameter(program, gl.LINK_STATUS)) { throw new Error("link"); }
    gl.useProgram(program);
    this.attribute(gl, program, "aCorner", this.mesh.corners, gl.UNSIGNED_SHORT, 6);
    this.attribute(gl, program, "aNormal", normals(this.mesh), gl.BYTE, 4);
    var mesh = this.mesh;
    var span = [0, 1, 2].map(function (a) { return mesh.high[a] - mesh.low[a]; });
    var radius = Math.sqrt(span[0] * span[0] + span[1] * span[1] + span[2] * span[2]) / 2 || 1;
    gl.uniform3fv(gl.getUniformLocation(program, "uHalfSpan"), span.map(function (s) {
      return s / 2 / radius;
    }));
    this.uView = gl.getUniformLocation(program, "uView");
    this.uScale = gl.getUniformLocation(program, "uScale");
    gl.enable(gl.DEPTH_TEST);
    gl.clearColor(BACKGROUND[0], BACKGROUND[1], BACKGROUND[2], 1);
    this.gl = gl;
  };

  Viewer.prototype.attribute = function (gl, program, name, data, type, stride) {
    var buffer = gl.createBuffer();
    gl.bindBuffer(gl.ARRAY_BUFFER, buffer);
    gl.bufferData(gl.ARRAY_BUFFER, data, gl.STATIC_DRAW);
    var at = gl.getAttribLocation(program, name);
    gl.enableVertexAttribArray(at);
    gl.vertexAttribPointer(at, 3, type, true, stride, 0);
  };

  Viewer.prototype.onMove = function (event) {
    var last = this.pointers[event.pointerId];
    if (!last) { return; }
    var ids = Object.keys(this.pointers);
    if (ids.length === 2) { // a pinch: zoom by the change of the fingers' distance
      var other = this.pointers[ids[0] === String(event.pointerId) ? ids[1] : ids[0]];
      var before = Math.hypot(last.x - other.x, last.y - other.y);
      var after = Math.hypot(event.clientX - other.x, event.clientY - other.y);
      if (before > 0) { this.zoomBy(after / before); }
    } else if (ids.length === 1) {
      this.rotate(-(event.clientX - last.x) * DRAG_DEGREES_PER_PIXEL,
        (event.clientY - last.y) * DRAG_DEGREES_PER_PIXEL);
    }
    last.x = event.clientX;
    last.y = event.clientY;
  };

  Viewer.prototype.onKey = function (event) {
    var keys = {
      ArrowLeft: [KEY_STEP, 0], ArrowRight: [-KEY_STEP, 0],
      ArrowUp: [0, -KEY_STEP], ArrowDown: [0, KEY_STEP]
    };
    if (keys[event.key]) {
      this.rotate(keys[event.key][0], keys[event.key][1]);
    } else if (event.key === "+" || event.key === "=") {
      this.zoomBy(1.25);
    } else if (event.key === "-" || event.key === "_") {
      this.zoomBy(0.8);
    } else {
      return;
    }
    event.preventDefault();
  };

  Viewer.prototype.rotate = function (azimuth, elevation) {
    this.view.azimuth = (this.view.azimuth + azimuth) % 360;
    this.view.elevation = Math.max(-89, Math.min(89, this.view.elevation + elevation));
    this.draw();
  };

  Viewer.prototype.zoomBy = function (factor) {
    this.view.zoom = Math.max(ZOOM_MIN, Math.min(ZOOM_MAX, this.view.zoom * factor));
    this.draw();
  };

  // One frame, at the next animation frame: many pointer moves make one drawing.
  Viewer.prototype.draw = function () {
    var self = this;
    if (!this.gl || this.frame || this.canvas.hidden) { return; }
    this.frame = window.requestAnimationFrame(function () {
      self.frame = 0;
      self.paint();
    });
  };

  Viewer.prototype.paint = function () {
    var gl = this.gl, canvas = this.canvas;
    if (!gl) { return; }
    var ratio = window.devicePixelRatio || 1;
    var width = Math.max(1, Math.round(canvas.clientWidth * ratio));
    var height = Math.max(1, Math.round(canvas.clientHeight * ratio));
    if (canvas.width !== width || canvas.height !== height) {
      canvas.width = width;
      canvas.height = height;
    }
    gl.viewport(0, 0, width, height);
    gl.clear(gl.COLOR_BUFFER_BIT | gl.DEPTH_BUFFER_BIT);
    var fit = MARGIN * this.view.zoom;
    var wide = width / height;
    gl.uniform2f(this.uScale, wide > 1 ? fit / wide : fit, wide > 1 ? fit : fit * wide);
    gl.uniformMatrix3fv(this.uView, false, viewMatrix(this.view.azimuth, this.view.elevation));
    gl.drawArrays(gl.TRIANGLES, 0, this.mesh.count * 3);
  };

  if (!window.fetch || !window.requestAnimationFrame) { return; }
  var holders = document.querySelectorAll("[data-viewer-mesh]");
  if (!holders.length || !webglWorks()) { return; }
  Array.prototype.forEach.call(holders, function (holder) {
    if (holder.querySelector("img")) { new Viewer(holder); }
  });
})();
