/* The browser uploader: the print file inputs, enhanced into resumable tus uploads.

   A form with data-uploader gets, for its [data-upload-input]: drag and drop, one row per file
   (a progress bar, percentage, speed, time left, Pause/Resume, Remove), automatic retries with
   exponential backoff, and resume after a reload (the upload URL is remembered per file
   fingerprint in localStorage). The form is sent once every file has arrived, without the
   files' bytes: the server already has them (request form: as drafts of the form's draft
   token; revision forms: as the upload whose id is posted as upload_id, or as the field
   data-upload-id-name names).
   Credentials: the customer's job link (data-job-link), the request form's upload token
   (data-upload-token), or else the operator's desk session with the form's CSRF token; an
   operator's upload names its job (data-upload-job) so that it counts towards the job's limit.
   Without this file the forms are plain multipart forms. The protocol: docs/uploads.md. */
(function () {
  "use strict";

  var TUS = "1.0.0";
  var REMEMBER = "printdesk.upload:"; // localStorage: fingerprint -> upload URL
  var DRAFT = "printdesk.draft"; // sessionStorage: this tab's request form draft, for reloads
  var DRAFT_MAX_AGE = 6 * 3600 * 1000; // well inside the upload token's 12 hours
  var MAX_BACKOFF = 30000;

  function Aborted() { this.aborted = true; }
  function NetworkError() { this.retry = true; }
  function Failure(message, options) {
    this.message = message;
    this.retry = Boolean(options && options.retry);
    this.restart = Boolean(options && options.restart);
  }

  function storage(kind) {
    try { return window[kind]; } catch (e) { return null; } // blocked by privacy settings
  }
  var local = storage("localStorage");
  var session = storage("sessionStorage");

  function bytes(n) {
    if (n < 1024) return n + " B";
    if (n < 1024 * 1024) return (n / 1024).toFixed(0) + " KB";
    if (n < 1024 * 1024 * 1024) return (n / 1048576).toFixed(1) + " MB";
    return (n / 1073741824).toFixed(2) + " GB";
  }

  function duration(seconds) {
    if (!isFinite(seconds)) return "";
    if (seconds < 60) return Math.max(1, Math.round(seconds)) + " s left";
    if (seconds < 3600) return Math.round(seconds / 60) + " min left";
    return (seconds / 3600).toFixed(1) + " h left";
  }

  function b64(text) {
    return btoa(unescape(encodeURIComponent(text)));
  }

  function extensionOf(name) {
    var dot = name.lastIndexOf(".");
    return dot < 0 ? "" : name.slice(dot + 1).toLowerCase();
  }

  /* One HTTP request; resolves with any answer, rejects on a network error or an abort. */
  function send(row, method, url, headers, body, onProgress) {
    return new Promise(function (resolve, reject) {
      var xhr = new XMLHttpRequest();
      row.xhr = xhr;
      xhr.open(method, url);
      Object.keys(headers).forEach(function (name) { xhr.setRequestHeader(name, headers[name]); });
      if (onProgress) xhr.upload.onprogress = function (event) { onProgress(event.loaded); };
      xhr.onload = function () {
        row.xhr = null;
        resolve({ status: xhr.status, text: xhr.responseText,
                  header: function (name) { return xhr.getResponseHeader(name); } });
      };
      xhr.onerror = xhr.ontimeout = function () { row.xhr = null; reject(new NetworkError()); };
      xhr.onabort = function () { row.xhr = null; reject(new Aborted()); };
      xhr.send(body === undefined ? null : body);
    });
  }

  /* What an error answer means for the upload: retry, start again, or a message to show. */
  function failure(response) {
    var status = response.status;
    var reason = (response.text || "").trim();
    if (status >= 500 || status === 423 || status === 409 || status === 460 || status === 0) {
      return new Failure("The server could not take the file just now.", { retry: true });
    }
    if (status === 404 || status === 410) return new Failure("", { restart: true });
    if (status === 401) return new Failure("This page is out of date: reload it and pick the file again.");
    if (status === 413) return new Failure(reason || "The file is larger than the limit per file.");
    return new Failure(reason || "The server refused the file (" + status + ").");
  }

  function sha1Header(buffer) {
    if (!(window.crypto && window.crypto.subtle)) return Promise.resolve(null);
    return window.crypto.subtle.digest("SHA-1", buffer).then(function (digest) {
      return "sha1 " + btoa(String.fromCharCode.apply(null, new Uint8Array(digest)));
    }, function () { return null; });
  }

  function Uploader(form) {
    this.form = form;
    this.input = form.querySelector("[data-upload-input]");
    this.endpoint = form.getAttribute("data-upload-endpoint");
    this.maxBytes = parseInt(form.getAttribute("data-max-bytes"), 10) || Infinity;
    this.maxFiles = parseInt(form.getAttribute("data-max-files"), 10) || Infinity;
    this.extensions = (form.getAttribute("data-extensions") || "").split(/\s+/).filter(Boolean);
    this.single = this.maxFiles === 1;
    this.draftInput = form.querySelector("input[name=draft]");
    this.rows = [];
    this.button = form.querySelector("button[type=submit]");
    this.build();
    if (this.draftInput) this.adoptDraft();
  }

  Uploader.prototype.credentials = function () {
    var headers = { "Tus-Resumable": TUS };
    var link = this.form.getAttribute("data-job-link");
    var token = this.form.getAttribute("data-upload-token");
    var csrf = this.form.querySelector("input[name=csrfmiddlewaretoken]");
    if (link) headers["X-Job-Link"] = link;
    else if (token) headers["Upload-Token"] = token;
    else if (csrf) headers["X-CSRFToken"] = csrf.value; // the session cookie goes along
    return headers;
  };

  Uploader.prototype.owner = function () {
    if (this.draftInput) return "draft:" + this.draftInput.value;
    var link = this.form.getAttribute("data-job-link");
    return link ? "job:" + link : "staff:" + this.form.getAttribute("data-upload-job");
  };

  Uploader.prototype.build = function () {
    var self = this;
    var field = this.input.closest(".field") || this.input.parentNode;
    this.list = document.createElement("ul");
    this.list.className = "upload-list";
    field.appendChild(this.list);
    field.classList.add("upload-drop");
    var hint = document.createElement("p");
    hint.className = "help";
    hint.textContent = "You can also drop files here. Large files resume where they stopped if the connection drops.";
    this.input.insertAdjacentElement("afterend", hint);
    this.summary = document.createElement("p");
    this.summary.className = "upload-summary";
    this.summary.setAttribute("role", "status");
    if (this.button) this.button.insertAdjacentElement("beforebegin", this.summary);

    this.input.addEventListener("change", function () {
      self.add(Array.prototype.slice.call(self.input.files));
      self.input.value = ""; // the bytes go by tus, never with the form
    });
    field.addEventListener("dragover", function (event) {
      event.preventDefault();
      field.classList.add("dragging");
    });
    field.addEventListener("dragleave", function () { field.classList.remove("dragging"); });
    field.addEventListener("drop", function (event) {
      event.preventDefault();
      field.classList.remove("dragging");
      self.add(Array.prototype.slice.call(event.dataTransfer.files));
    });
    this.form.addEventListener("submit", function (event) { self.submit(event); });
    window.addEventListener("online", function () {
      self.rows.forEach(function (row) { if (row.wake) row.wake(); });
    });
    window.addEventListener("pageshow", function () { self.input.setAttribute("name", self.inputName); });
    this.inputName = this.input.getAttribute("name");
    this.update();
  };

  /* A reloaded request form starts a fresh draft; this tab's earlier one (with what it
     received) is taken up again, so that its uploads can resume. */
  Uploader.prototype.adoptDraft = function () {
    var saved = null;
    try { saved = JSON.parse(session && session.getItem(DRAFT)); } catch (e) { saved = null; }
    var fresh = !this.form.querySelector(".received-list");
    if (saved && fresh && saved.draft !== this.draftInput.value && Date.now() - saved.at < DRAFT_MAX_AGE) {
      this.draftInput.value = saved.draft;
      this.form.setAttribute("data-upload-token", saved.token);
      var self = this;
      (saved.done || []).forEach(function (done) { self.restoreDone(done); });
    } else if (!saved || saved.draft !== this.draftInput.value) {
      this.saveDraft([]);
    }
  };

  Uploader.prototype.saveDraft = function (done) {
    if (!session || !this.draftInput) return;
    session.setItem(DRAFT, JSON.stringify({
      draft: this.draftInput.value, token: this.form.getAttribute("data-upload-token"),
      at: Date.now(), done: done,
    }));
  };

  Uploader.prototype.rememberDone = function () {
    this.saveDraft(this.rows.filter(function (row) { return row.state === "done"; })
      .map(function (row) { return { url: row.url, name: row.file.name, size: row.file.size }; }));
  };

  Uploader.prototype.restoreDone = function (done) {
    var self = this;
    var row = this.row({ name: done.name, size: done.size });
    row.url = done.url;
    send(row, "HEAD", done.url, this.credentials()).then(function (response) {
      if (response.status === 200 && response.header("Upload-Offset") === String(done.size)
          && !response.header("Upload-Refused")) {
        row.offset = done.size;
        self.finished(row);
      } else {
        self.discard(row);
      }
    }, function () { self.discard(row); });
  };

  Uploader.prototype.count = function () {
    return this.rows.length + this.form.querySelectorAll(".received-list li").length;
  };

  Uploader.prototype.add = function (files) {
    var self = this;
    files.forEach(function (file) {
      if (self.single) self.rows.slice().forEach(function (old) { self.remove(old); });
      if (self.count() >= self.maxFiles) {
        self.row(file).fail(file.name + " was not added: attach at most " + self.maxFiles + " files.");
        return;
      }
      var row = self.row(file);
      if (self.extensions.length && self.extensions.indexOf(extensionOf(file.name)) < 0) {
        row.fail(file.name + ": only ." + self.extensions.join(", .") + " files can be printed.");
      } else if (file.size === 0) {
        row.fail(file.name + " is empty.");
      } else if (file.size > self.maxBytes) {
        row.fail(file.name + " is larger than the limit per file (" + bytes(self.maxBytes) + ").");
      } else {
        row.fingerprint = REMEMBER + [file.name, file.size, file.lastModified, self.owner()].join("|");
        row.url = local ? local.getItem(row.fingerprint) : null;
        self.run(row);
      }
    });
  };

  /* One file's row: its elements and what it shows. */
  Uploader.prototype.row = function (file) {
    var self = this;
    var item = document.createElement("li");
    item.className = "upload-row";
    var name = document.createElement("span");
    name.className = "upload-name";
    name.textContent = file.name + " (" + bytes(file.size) + ")";
    var bar = document.createElement("progress");
    bar.max = 100;
    bar.value = 0;
    bar.setAttribute("aria-label", "Upload of " + file.name);
    var info = document.createElement("span");
    info.className = "upload-info";
    var pause = this.makeButton("Pause", file.name);
    var remove = this.makeButton("Remove", file.name);
    var error = document.createElement("p");
    error.className = "upload-error";
    error.setAttribute("role", "alert");
    error.hidden = true;
    item.append(name, bar, info, pause, remove, error);
    this.list.appendChild(item);

    var row = { file: file, item: item, bar: bar, info: info, pause: pause, error: error,
                url: null, offset: 0, state: "waiting", attempts: 0 };
    row.show = function (text) { info.textContent = text; };
    row.fail = function (message) {
      row.state = "error";
      error.textContent = message;
      error.hidden = false;
      pause.hidden = true;
      item.classList.add("upload-failed");
      row.show("Not uploaded");
      self.update();
    };
    pause.addEventListener("click", function () {
      if (row.state === "paused") self.run(row);
      else self.pause(row);
    });
    remove.addEventListener("click", function () { self.remove(row); });
    this.rows.push(row);
    this.update();
    return row;
  };

  Uploader.prototype.makeButton = function (label, name) {
    var button = document.createElement("button");
    button.type = "button";
    button.className = "secondary upload-button";
    var text = document.createElement("span");
    text.textContent = label;
    var hidden = document.createElement("span");
    hidden.className = "visually-hidden";
    hidden.textContent = " " + name;
    button.append(text, hidden);
    return button;
  };

  Uploader.prototype.setButton = function (row, label) {
    row.pause.firstChild.textContent = label;
  };

  /* Create (or find again) the upload, send it chunk by chunk, retry with backoff. */
  Uploader.prototype.run = async function (row) {
    if (row.running) return;
    row.running = true;
    row.state = "uploading";
    row.paused = false;
    this.setButton(row, "Pause");
    this.update();
    try {
      for (;;) {
        try {
          await this.upload(row);
          return;
        } catch (error) {
          if (error instanceof Aborted || row.paused || row.removed) return;
          if (!error.retry && !error.restart) {
            this.forget(row);
            row.fail(error.message);
            return;
          }
          if (error.restart) {
            this.forget(row);
            row.url = null;
            row.offset = 0;
            continue;
          }
          row.attempts += 1;
          var base = parseInt(this.form.getAttribute("data-retry-base-ms"), 10) || 1000;
          var wait = Math.min(base * Math.pow(2, row.attempts - 1), MAX_BACKOFF);
          row.state = "retrying";
          row.item.setAttribute("data-retrying", "");
          row.show("Connection lost: trying again in " + Math.ceil(wait / 1000) + " s");
          await this.sleep(row, wait);
          row.item.removeAttribute("data-retrying");
          if (row.paused || row.removed) return;
          row.state = "uploading";
        }
      }
    } finally {
      row.running = false;
    }
  };

  Uploader.prototype.upload = async function (row) {
    var file = row.file;
    if (row.url) {
      var head = await send(row, "HEAD", row.url, this.credentials());
      if (head.status !== 200) throw failure(head);
      row.offset = parseInt(head.header("Upload-Offset"), 10) || 0;
      if (!row.item.hasAttribute("data-resumed-from")) row.item.setAttribute("data-resumed-from", String(row.offset));
      this.refused(head);
    } else {
      var headers = this.credentials();
      headers["Upload-Length"] = String(file.size);
      headers["Upload-Metadata"] = "filename " + b64(file.name);
      var job = this.form.getAttribute("data-upload-job");
      if (job) headers["Upload-Metadata"] += ",job " + b64(job);
      var created = await send(row, "POST", this.endpoint, headers);
      if (created.status !== 201) throw failure(created);
      row.url = new URL(created.header("Location"), window.location.href).href;
      row.offset = 0;
      if (local && row.fingerprint) local.setItem(row.fingerprint, row.url);
    }
    row.started = { at: Date.now(), offset: row.offset };
    this.progress(row, row.offset);
    while (row.offset < file.size) {
      await this.patch(row);
      row.attempts = 0;
    }
    this.finished(row);
  };

  Uploader.prototype.patch = async function (row) {
    var self = this;
    var size = parseInt(this.form.getAttribute("data-chunk-bytes"), 10) || 5 * 1024 * 1024;
    var body = await row.file.slice(row.offset, row.offset + size).arrayBuffer();
    var headers = this.credentials();
    headers["Upload-Offset"] = String(row.offset);
    headers["Content-Type"] = "application/offset+octet-stream";
    var checksum = await sha1Header(body);
    if (checksum) headers["Upload-Checksum"] = checksum;
    if (row.paused || row.removed) throw new Aborted();
    var start = row.offset;
    var response = await send(row, "PATCH", row.url, headers, body, function (loaded) {
      self.progress(row, start + loaded);
    });
    if (response.status !== 204) throw failure(response);
    row.offset = parseInt(response.header("Upload-Offset"), 10);
    this.refused(response);
    this.progress(row, row.offset);
  };

  Uploader.prototype.refused = function (response) {
    var message = response.header("Upload-Refused");
    if (message) throw new Failure(message);
  };

  Uploader.prototype.progress = function (row, sent) {
    var size = row.file.size;
    var percent = Math.floor((sent / size) * 100);
    row.bar.value = percent;
    var text = percent + "%";
    var seconds = (Date.now() - row.started.at) / 1000;
    var rate = seconds > 0.5 ? (sent - row.started.offset) / seconds : 0;
    if (rate > 0 && sent < size) text += " · " + bytes(rate) + "/s · " + duration((size - sent) / rate);
    row.show(text);
  };

  Uploader.prototype.finished = function (row) {
    row.state = "done";
    row.offset = row.file.size;
    row.bar.value = 100;
    row.show("Received");
    row.pause.hidden = true;
    row.item.classList.add("upload-done");
    row.uploadId = row.url.replace(/\/$/, "").split("/").pop();
    this.forget(row);
    this.rememberDone();
    this.update();
  };

  Uploader.prototype.sleep = function (row, ms) {
    return new Promise(function (resolve) {
      var timer = setTimeout(done, ms);
      function done() { clearTimeout(timer); row.wake = null; resolve(); }
      row.wake = done;
    });
  };

  Uploader.prototype.pause = function (row) {
    if (row.state === "done" || row.state === "error") return;
    row.paused = true;
    row.state = "paused";
    if (row.xhr) row.xhr.abort();
    if (row.wake) row.wake();
    this.setButton(row, "Resume");
    row.show(row.bar.value + "% · paused");
    this.update();
  };

  Uploader.prototype.remove = function (row) {
    row.removed = true;
    if (row.xhr) row.xhr.abort();
    if (row.wake) row.wake();
    if (row.url) {
      send({}, "DELETE", row.url, this.credentials()).catch(function () {});
    }
    this.discard(row);
    this.input.focus();
  };

  Uploader.prototype.discard = function (row) {
    this.forget(row);
    row.item.remove();
    this.rows = this.rows.filter(function (other) { return other !== row; });
    this.rememberDone();
    this.update();
  };

  Uploader.prototype.forget = function (row) {
    if (local && row.fingerprint) local.removeItem(row.fingerprint);
  };

  /* The submit button waits for every file; the message says why. */
  Uploader.prototype.update = function () {
    var waiting = this.rows.filter(function (row) { return row.state !== "done" && row.state !== "error"; }).length;
    var failed = this.rows.filter(function (row) { return row.state === "error"; }).length;
    var blocked = waiting > 0 || failed > 0;
    if (blocked) this.form.setAttribute("data-uploads-pending", "");
    else this.form.removeAttribute("data-uploads-pending");
    if (this.button) this.button.disabled = blocked;
    if (waiting) {
      this.summary.textContent = "You can send the form once every file has arrived (" + waiting +
        (waiting === 1 ? " file" : " files") + " still to upload).";
    } else if (failed) {
      this.summary.textContent = "Remove the files that could not be uploaded to send the form.";
    } else {
      this.summary.textContent = "";
    }
  };

  Uploader.prototype.submit = function (event) {
    if (this.form.hasAttribute("data-uploads-pending")) {
      event.preventDefault();
      return;
    }
    var done = this.rows.filter(function (row) { return row.state === "done"; });
    if (!done.length) return; // nothing picked here: the plain form as it is
    this.input.removeAttribute("name"); // the server has the files already
    if (!this.draftInput) {
      var name = this.form.getAttribute("data-upload-id-name") || "upload_id";
      var hidden = this.form.querySelector("input[name='" + name + "']") || document.createElement("input");
      hidden.type = "hidden";
      hidden.name = name;
      hidden.value = done[done.length - 1].uploadId;
      this.form.appendChild(hidden);
    }
  };

  if (document.querySelector("[data-private-link]") && session) session.removeItem(DRAFT);
  if (!("XMLHttpRequest" in window && "Promise" in window && window.Blob && Blob.prototype.arrayBuffer)) return;
  document.querySelectorAll("form[data-uploader]").forEach(function (form) {
    if (form.querySelector("[data-upload-input]")) new Uploader(form);
  });
})();
