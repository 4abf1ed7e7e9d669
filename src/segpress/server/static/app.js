// segpress page: upload once, then re-encode on every change (the server keeps the segmentation).
//
//   file ─ POST /api/v1/segment ─ id, class shares ─┬─ original.png (before), labels.png (overlay)
//                                                   └─ POST /api/v1/images/{id}/compress (weights, format,
//                                                      qualities or target, fallback, scene floor)
//                                                      ─ file (after, download) + figures
//
// Only one compress request is in flight at a time; changes made meanwhile are sent when it returns
// (the latest settings win), and slider moves are debounced.
"use strict";

(() => {
  const API = "/api/v1";
  const DEBOUNCE_MS = 200;
  // Formats every current browser displays; the others come with a PNG preview from the server.
  const DISPLAYABLE = new Set(["image/jpeg", "image/png", "image/webp", "image/avif"]);

  const $ = (id) => document.getElementById(id);
  const el = {
    status: $("status"), error: $("error"), drop: $("drop"), file: $("file"), fileName: $("file-name"),
    workspace: $("workspace"), preset: $("preset"), classes: $("classes"), moreClasses: $("more-classes"),
    format: $("format"), roi: $("roi-quality"), bg: $("bg-quality"), roiValue: $("roi-quality-value"),
    bgValue: $("bg-quality-value"), qualityControls: $("quality-controls"), sizeControls: $("size-controls"),
    targetKb: $("target-kb"), download: $("download"), note: $("stat-note"),
    wrap: $("stage-wrap"), stage: $("stage"), before: $("before"), after: $("after"), labels: $("labels"),
    divider: $("divider"), split: $("split"), opacity: $("opacity"), splitControl: $("split-control"),
    opacityControl: $("opacity-control"), zoomValue: $("zoom-value"), tagRight: $("tag-right"),
    busy: $("busy"), legend: $("legend"), tabCompare: $("tab-compare"), tabSegments: $("tab-segments"),
    keepAdaptive: $("keep-adaptive"), sceneFloor: $("scene-floor"), sceneFidelity: $("scene-fidelity"),
    sceneFidelityValue: $("scene-fidelity-value"),
  };
  // The fallback's note names the CLI's option (api.FALLBACK_HINT); here the checkbox does it.
  const CLI_FALLBACK_HINT = "(--no-fallback keeps the adaptive file)";
  const PAGE_FALLBACK_HINT = "(“Keep the region-adaptive file” keeps it)";

  const state = {
    classes: [],          // [{index, name, colour}]
    policies: {},         // name -> {weights, description...}
    formats: [],          // [{name, media_type, extensions...}]
    file: null,           // the File shown (kept to upload again if the server dropped it)
    image: null,          // the /segment answer
    weights: {},          // class -> 0..1, what the sliders say
    preset: "default",    // the preset whose margins and feathering apply
    inFlight: false,
    pending: false,
    sequence: 0,          // results shown so far (tests wait on it)
    urls: [],             // object URLs of the result shown, revoked when replaced
    view: { scale: 1, x: 0, y: 0, fitted: true },
    uploadStarted: 0,
    lastSize: 0,          // bytes of the result shown
    pictures: null,       // promise: the original and the label map are on screen
    shownData: null,      // base64 of the file on screen
  };

  // ---- small helpers -------------------------------------------------------------------------

  function showError(message) {
    el.error.textContent = message;
    el.error.hidden = !message;
  }

  function setStatus(message) {
    el.status.textContent = message;
  }

  async function apiJson(path, options) {
    const response = await fetch(path, options);
    let body = null;
    try {
      body = await response.json();
    } catch (_) {
      body = null;
    }
    if (!response.ok) {
      const detail = body && typeof body.detail === "string" ? body.detail : `${response.status} ${response.statusText}`;
      const error = new Error(detail);
      error.status = response.status;
      throw error;
    }
    return body;
  }

  function bytesText(size) {
    if (size >= 1e6) return `${(size / 1e6).toFixed(2)} MB`;
    if (size >= 1e4) return `${Math.round(size / 1e3)} KB`;
    if (size >= 1e3) return `${(size / 1e3).toFixed(1)} KB`;
    return `${Math.round(size)} B`;
  }

  function percent(fraction, digits = 0) {
    return `${(100 * fraction).toFixed(digits)} %`;
  }

  function db(value) {
    return value === null || value === undefined ? "–" : value.toFixed(2);
  }

  function blobFromBase64(text, type) {
    const raw = atob(text);
    const bytes = new Uint8Array(raw.length);
    for (let i = 0; i < raw.length; i += 1) bytes[i] = raw.charCodeAt(i);
    return new Blob([bytes], { type });
  }

  function loaded(img, src) {
    return new Promise((resolve, reject) => {
      img.onload = () => resolve(img);
      img.onerror = () => reject(new Error(`cannot show ${img.alt.toLowerCase()}`));
      img.src = src;
    });
  }

  function debounce(fn, ms) {
    let timer = 0;
    return (...args) => {
      clearTimeout(timer);
      timer = setTimeout(() => fn(...args), ms);
    };
  }

  // ---- start-up: what the server offers -------------------------------------------------------

  async function init() {
    try {
      const [classes, policies, formats, health] = await Promise.all([
        apiJson(`${API}/classes`), apiJson(`${API}/policies`), apiJson(`${API}/formats`), apiJson(`${API}/health`),
      ]);
      state.classes = classes;
      state.formats = formats;
      for (const policy of policies) state.policies[policy.name] = policy;
      fillSelect(el.preset, policies.map((p) => [p.name, p.name]));
      el.preset.append(new Option("custom", "custom"));
      fillSelect(el.format, formats.map((f) => [f.name, `${f.name} (${f.extensions[0]})`]));
      el.preset.value = state.policies.default ? "default" : policies[0].name;
      state.preset = el.preset.value;
      state.weights = { ...state.policies[state.preset].weights };
      buildClassRows();
      setStatus(`Ready · model ${health.model} · uploads up to ${bytesText(health.limits.max_upload_bytes)}`);
      document.body.dataset.ready = "true";
    } catch (error) {
      setStatus("Server not reachable");
      showError(`Cannot load the server's options: ${error.message}`);
    }
  }

  function fillSelect(select, entries) {
    select.replaceChildren(...entries.map(([value, text]) => new Option(text, value)));
  }

  function buildClassRows() {
    el.classes.replaceChildren();
    for (const cls of state.classes) {
      const row = document.createElement("label");
      row.className = "class-row";
      row.dataset.class = cls.name;
      const swatch = document.createElement("span");
      swatch.className = "swatch";
      swatch.style.background = cls.colour;
      const name = document.createElement("span");
      name.className = "name";
      name.textContent = cls.name;
      const share = document.createElement("span");
      share.className = "share";
      const slider = document.createElement("input");
      slider.type = "range";
      slider.min = "0";
      slider.max = "100";
      slider.step = "5";
      slider.dataset.class = cls.name;
      slider.setAttribute("aria-label", `Importance of ${cls.name}`);
      const value = document.createElement("output");
      slider.addEventListener("input", () => {
        state.weights[cls.name] = Number(slider.value) / 100;
        value.textContent = slider.value;
        el.preset.value = matchingPreset() || "custom";
        scheduleCompress();
      });
      row.append(swatch, name, share, slider, value);
      el.classes.append(row);
    }
    showWeights();
  }

  function showWeights() {
    for (const row of el.classes.children) {
      const weight = state.weights[row.dataset.class] ?? 0;
      const slider = row.querySelector("input");
      slider.value = String(Math.round(weight * 100));
      row.querySelector("output").textContent = slider.value;
    }
  }

  function matchingPreset() {
    return Object.keys(state.policies).find((name) =>
      state.classes.every((c) => Math.abs((state.policies[name].weights[c.name] ?? 0) - (state.weights[c.name] ?? 0)) < 1e-6));
  }

  // Classes present in the picture first (largest first), the rest behind "Show all classes".
  function orderClassRows(shares) {
    const rows = [...el.classes.children];
    rows.sort((a, b) => (shares[b.dataset.class] || 0) - (shares[a.dataset.class] || 0));
    el.classes.replaceChildren(...rows);
    let hidden = 0;
    for (const row of rows) {
      const share = shares[row.dataset.class] || 0;
      row.querySelector(".share").textContent = share >= 0.001 ? percent(share, share < 0.1 ? 1 : 0) : "";
      row.hidden = share < 0.001 && !el.classes.dataset.all;
      hidden += row.hidden ? 1 : 0;
    }
    el.moreClasses.hidden = hidden === 0;
  }

  function buildLegend(shares) {
    const colours = Object.fromEntries(state.classes.map((c) => [c.name, c.colour]));
    el.legend.replaceChildren(...Object.entries(shares).filter(([, share]) => share >= 0.001).map(([name, share]) => {
      const item = document.createElement("li");
      const swatch = document.createElement("span");
      swatch.className = "swatch";
      swatch.style.background = colours[name] || "#000";
      const label = document.createElement("span");
      label.textContent = name;
      const amount = document.createElement("span");
      amount.className = "share";
      amount.textContent = percent(share, share < 0.1 ? 1 : 0);
      item.append(swatch, label, amount);
      return item;
    }));
  }

  // ---- upload --------------------------------------------------------------------------------

  async function upload(file) {
    if (!file) return;
    showError("");
    state.file = file;
    state.image = null;
    state.uploadStarted = performance.now();
    el.fileName.textContent = file.name;
    setStatus(`Finding what is in ${file.name}…`);
    const form = new FormData();
    form.append("file", file, file.name);
    try {
      const image = await apiJson(`${API}/segment`, { method: "POST", body: form });
      state.image = image;
      el.drop.classList.add("compact");
      el.workspace.hidden = false;
      orderClassRows(image.shares);
      buildLegend(image.shares);
      el.before.width = el.after.width = el.labels.width = image.width;
      el.before.height = el.after.height = el.labels.height = image.height;
      const pictures = Promise.all([loaded(el.before, image.original_url), loaded(el.labels, image.labels_url)]);
      state.pictures = pictures;
      state.view.fitted = true;
      fitView();
      setStatus(`${image.width}×${image.height} · segmented in ${(image.seconds * 1000).toFixed(0)} ms · encoding…`);
      await Promise.all([pictures, compressNow()]);
    } catch (error) {
      setStatus("");
      showError(error.message);
    }
  }

  // ---- compress ------------------------------------------------------------------------------

  const scheduleCompress = debounce(() => {
    compressNow().catch((error) => showError(error.message));
  }, DEBOUNCE_MS);

  function selectedFormat() {
    return state.formats.find((f) => f.name === el.format.value) || state.formats[0];
  }

  function options() {
    const format = selectedFormat();
    const body = {
      format: format.name,
      policy: state.preset,
      weights: state.weights,
      preview: !DISPLAYABLE.has(format.media_type),
      name: state.file ? state.file.name : null,
      fallback: !el.keepAdaptive.checked,
    };
    // Off: not sent, so the preset's floor applies (off in every preset).
    if (el.sceneFloor.checked) body.scene_fidelity = Number(el.sceneFidelity.value);
    if (document.querySelector("input[name=mode]:checked").value === "size") {
      body.target_size = `${Math.max(1, Math.round(Number(el.targetKb.value) || 1))}KB`;
    } else {
      body.roi_quality = Number(el.roi.value);
      body.bg_quality = Math.min(Number(el.bg.value), Number(el.roi.value));
    }
    return body;
  }

  // Two steps per change: the file alone, shown at once; then the same request with the comparison
  // against uniform encoding (a few more encodes) for the saving, unless the settings changed meanwhile.
  async function compressNow() {
    if (!state.image) return;
    if (state.inFlight) {
      state.pending = true;  // sent as soon as the current answer is in
      return;
    }
    state.inFlight = true;
    try {
      const imageId = state.image.image_id;
      const body = options();
      for (const compare of [false, true]) {
        el.busy.textContent = compare ? "Measuring the saving…" : "Encoding…";
        el.busy.hidden = false;
        const asked = performance.now();
        const result = await requestCompress(imageId, { ...body, compare });
        if (!state.image || state.image.image_id !== imageId) {
          state.pending = Boolean(state.image);  // another picture came meanwhile: encode that one
          break;
        }
        await showResult(result, performance.now() - asked, compare);
        showError("");
        if (state.pending) break;  // newer settings wait: no comparison for these
      }
    } catch (error) {
      showError(error.message);
    } finally {
      state.inFlight = false;
      el.busy.hidden = true;
      if (state.pending) {
        state.pending = false;
        compressNow();
      }
    }
  }

  async function requestCompress(imageId, body) {
    const post = () => apiJson(`${API}/images/${imageId}/compress`, {
      method: "POST", headers: { "Content-Type": "application/json" }, body: JSON.stringify(body),
    });
    try {
      return await post();
    } catch (error) {
      if (error.status !== 404 || !state.file) throw error;
      // The server dropped the image to make room: upload it again (same bytes, same id).
      const form = new FormData();
      form.append("file", state.file, state.file.name);
      await apiJson(`${API}/segment`, { method: "POST", body: form });
      return post();
    }
  }

  async function showResult(result, answerMs, compared) {
    if (result.data !== state.shownData) {  // the comparison step gives the same file: keep the picture
      const fileUrl = URL.createObjectURL(blobFromBase64(result.data, result.media_type));
      const shownUrl = result.preview ? URL.createObjectURL(blobFromBase64(result.preview, "image/png")) : fileUrl;
      await loaded(el.after, shownUrl);
      for (const url of state.urls) URL.revokeObjectURL(url);
      state.urls = shownUrl === fileUrl ? [fileUrl] : [fileUrl, shownUrl];
      state.shownData = result.data;
      el.download.href = fileUrl;
    }

    const s = result.summary;
    state.lastSize = s.size;
    el.download.download = result.filename;
    el.download.textContent = `Download ${result.filename}`;
    el.download.hidden = false;
    el.tagRight.textContent = `segpress ${s.format} · ${bytesText(s.size)}`;
    $("stat-size").textContent = `${bytesText(s.size)} (${s.size.toLocaleString("en")} B)`;
    $("stat-bpp").textContent = s.bpp.toFixed(3);
    const bound = s.uniform_reached === false ? "> " : "";
    if (!compared) {
      $("stat-uniform").textContent = "…";
      $("stat-saving").textContent = "measuring…";
    } else if (s.uniform_size == null) {
      $("stat-uniform").textContent = "–";
      $("stat-saving").textContent = "– (nothing important)";
    } else {
      $("stat-uniform").textContent = `${bound}${bytesText(s.uniform_size)}`;
      $("stat-saving").textContent = s.fallback ? "0 % (the uniform file)" : `${bound}${percent(s.saving, 1)}`;
    }
    // The fallback: the region-adaptive file was not smaller at the same PSNR inside (or, for a target size, had
    // the worse PSNR inside), so the uniform file is shown and downloaded; what it replaced, for comparison.
    const replaced = compared && s.fallback === true && s.adaptive_size != null;
    $("stat-adaptive-label").hidden = !replaced;
    $("stat-adaptive").hidden = !replaced;
    if (replaced) $("stat-adaptive").textContent = `${bytesText(s.adaptive_size)}, ${db(s.adaptive_psnr_inside)} dB inside`;
    $("stat-psnr").textContent = `${db(s.psnr_inside)} / ${db(s.psnr_outside)} dB`;
    $("stat-area").textContent = percent(s.important_fraction, 1);
    $("stat-qualities").textContent = `${+s.roi_quality.toFixed(1)} / ${+s.bg_quality.toFixed(1)}`;
    $("stat-input").textContent = `${bytesText(result.input_size)}, ${(8 * result.input_size / (s.width * s.height)).toFixed(2)} bpp`;
    $("stat-time").textContent = `${(s.encode_seconds * 1000).toFixed(0)} ms / ${answerMs.toFixed(0)} ms`;
    showSceneFloor(s);
    const notes = (s.notes || []).map((note) => note.replace(CLI_FALLBACK_HINT, PAGE_FALLBACK_HINT));
    if (s.rate_note) notes.push(`target: ${s.rate_note}`);
    el.note.textContent = notes.join("; ");
    el.note.hidden = notes.length === 0;

    state.sequence += 1;
    el.wrap.dataset.sequence = String(state.sequence);
    await state.pictures;  // the comparison needs the original too
    if (state.uploadStarted) {  // the first comparison since this upload: how long it took
      el.wrap.dataset.firstMs = (performance.now() - state.uploadStarted).toFixed(0);
      state.uploadStarted = 0;
    }
    el.wrap.dataset.ready = "true";
    let saving = "measuring the saving…";
    if (compared) saving = s.saving == null ? "no important region"
      : s.fallback ? "uniform file: the region-adaptive one was not better"
        : s.saving < 0 ? `${percent(-s.saving, 1)} larger than uniform` : `${percent(s.saving, 1)} smaller than uniform`;
    setStatus(`${state.image.width}×${state.image.height} · ${bytesText(s.size)} · ${saving}`);
  }

  // The scene floor's figures (measured on the region-adaptive file), when a floor was on.
  function showSceneFloor(s) {
    const on = s.scene_fidelity != null && s.scene_agreement != null;
    for (const item of document.querySelectorAll(".scene-stat")) item.hidden = !on;
    if (!on) return;
    const reached = s.scene_agreement >= s.scene_fidelity;
    $("stat-scene").textContent = `${percent(s.scene_fidelity)}, ${reached ? "reached" : "not reached"}`;
    $("stat-scene-kept").textContent = percent(s.scene_agreement, 1);
    $("stat-scene-bg").textContent = `${+s.scene_bg_quality.toFixed(1)} / ${(s.scene_seconds * 1000).toFixed(0)} ms`;
  }

  // ---- viewer: zoom, pan, split --------------------------------------------------------------

  function applyView() {
    const { scale, x, y } = state.view;
    el.stage.style.transform = `translate(${x}px, ${y}px) scale(${scale})`;
    el.stage.classList.toggle("pixelated", scale >= 2);
    el.zoomValue.textContent = `${Math.round(scale * 100)}%`;
    const width = state.image ? state.image.width : 0;
    const height = state.image ? state.image.height : 0;
    el.divider.style.left = `${(Number(el.split.value) / 100) * width}px`;
    el.divider.style.height = `${height}px`;
    el.divider.style.borderLeftWidth = `${2 / scale}px`;
    el.divider.firstElementChild.style.transform = `scale(${1 / scale})`;
    el.after.style.clipPath = `inset(0 0 0 ${el.split.value}%)`;
  }

  function fitView() {
    if (!state.image) return;
    const box = el.wrap.getBoundingClientRect();
    const scale = Math.min(box.width / state.image.width, box.height / state.image.height, 1) || 1;
    state.view = {
      scale,
      x: (box.width - state.image.width * scale) / 2,
      y: (box.height - state.image.height * scale) / 2,
      fitted: true,
    };
    applyView();
  }

  function zoomTo(scale, cx, cy) {
    const box = el.wrap.getBoundingClientRect();
    const px = cx ?? box.width / 2;
    const py = cy ?? box.height / 2;
    const clamped = Math.min(32, Math.max(0.05, scale));
    const v = state.view;
    // Keep the image point under (px, py) where it is.
    v.x = px - ((px - v.x) * clamped) / v.scale;
    v.y = py - ((py - v.y) * clamped) / v.scale;
    v.scale = clamped;
    v.fitted = false;
    applyView();
  }

  function setupViewer() {
    $("zoom-fit").addEventListener("click", fitView);
    $("zoom-1").addEventListener("click", () => zoomTo(1 / (window.devicePixelRatio || 1)));
    $("zoom-2").addEventListener("click", () => zoomTo(2 / (window.devicePixelRatio || 1)));
    $("zoom-in").addEventListener("click", () => zoomTo(state.view.scale * 1.5));
    $("zoom-out").addEventListener("click", () => zoomTo(state.view.scale / 1.5));
    el.split.addEventListener("input", applyView);
    el.opacity.addEventListener("input", () => { el.labels.style.opacity = String(Number(el.opacity.value) / 100); });
    el.labels.style.opacity = String(Number(el.opacity.value) / 100);
    window.addEventListener("resize", () => { if (state.view.fitted) fitView(); });

    el.wrap.addEventListener("wheel", (event) => {
      if (!state.image) return;
      event.preventDefault();
      const box = el.wrap.getBoundingClientRect();
      zoomTo(state.view.scale * Math.exp(-event.deltaY * 0.0015), event.clientX - box.left, event.clientY - box.top);
    }, { passive: false });

    let drag = null;  // {kind: "pan" | "split", x, y, startX, startY}
    el.wrap.addEventListener("pointerdown", (event) => {
      if (!state.image || event.button !== 0) return;
      const onDivider = el.wrap.dataset.mode === "compare" && (event.target === el.divider || el.divider.contains(event.target));
      drag = { kind: onDivider ? "split" : "pan", x: event.clientX, y: event.clientY, startX: state.view.x, startY: state.view.y };
      el.wrap.setPointerCapture(event.pointerId);
      el.wrap.classList.toggle("panning", drag.kind === "pan");
    });
    el.wrap.addEventListener("pointermove", (event) => {
      if (!drag) return;
      if (drag.kind === "pan") {
        state.view.x = drag.startX + event.clientX - drag.x;
        state.view.y = drag.startY + event.clientY - drag.y;
        state.view.fitted = false;
      } else {
        const box = el.wrap.getBoundingClientRect();
        const imageX = (event.clientX - box.left - state.view.x) / state.view.scale;
        el.split.value = String(Math.min(100, Math.max(0, (100 * imageX) / state.image.width)));
      }
      applyView();
    });
    const endDrag = () => { drag = null; el.wrap.classList.remove("panning"); };
    el.wrap.addEventListener("pointerup", endDrag);
    el.wrap.addEventListener("pointercancel", endDrag);

    const setMode = (mode) => {
      el.wrap.dataset.mode = mode;
      el.tabCompare.setAttribute("aria-selected", String(mode === "compare"));
      el.tabSegments.setAttribute("aria-selected", String(mode === "segments"));
      el.splitControl.hidden = mode !== "compare";
      el.opacityControl.hidden = mode !== "segments";
      $("tag-left").textContent = mode === "compare" ? "Original" : "What the network found";
    };
    el.tabCompare.addEventListener("click", () => setMode("compare"));
    el.tabSegments.addEventListener("click", () => setMode("segments"));
  }

  // ---- controls ------------------------------------------------------------------------------

  function setupControls() {
    el.file.addEventListener("change", () => upload(el.file.files[0]));
    el.preset.addEventListener("change", () => {
      if (el.preset.value === "custom") return;
      state.preset = el.preset.value;
      state.weights = { ...state.policies[state.preset].weights };
      showWeights();
      scheduleCompress();
    });
    el.moreClasses.addEventListener("click", () => {
      el.classes.dataset.all = "true";
      for (const row of el.classes.children) row.hidden = false;
      el.moreClasses.hidden = true;
    });
    el.format.addEventListener("change", scheduleCompress);
    for (const [slider, output] of [[el.roi, el.roiValue], [el.bg, el.bgValue]]) {
      slider.addEventListener("input", () => {
        if (Number(el.bg.value) > Number(el.roi.value)) {
          (slider === el.roi ? el.bg : el.roi).value = slider.value;  // background never above important
        }
        el.roiValue.textContent = el.roi.value;
        el.bgValue.textContent = el.bg.value;
        output.textContent = slider.value;
        scheduleCompress();
      });
    }
    for (const radio of document.querySelectorAll("input[name=mode]")) {
      radio.addEventListener("change", () => {
        const bySize = radio.value === "size" && radio.checked;
        el.sizeControls.hidden = !bySize;
        el.qualityControls.hidden = bySize;
        if (bySize && state.lastSize && !el.targetKb.dataset.touched) {
          el.targetKb.value = String(Math.max(1, Math.round(state.lastSize / 1000)));  // start from what it is now
        }
        scheduleCompress();
      });
    }
    el.targetKb.addEventListener("input", () => { el.targetKb.dataset.touched = "true"; scheduleCompress(); });
    el.keepAdaptive.addEventListener("change", scheduleCompress);
    el.sceneFloor.addEventListener("change", () => {
      el.sceneFidelity.disabled = !el.sceneFloor.checked;
      scheduleCompress();
    });
    el.sceneFidelity.addEventListener("input", () => {
      el.sceneFidelityValue.textContent = Number(el.sceneFidelity.value).toFixed(2);
      scheduleCompress();
    });

    // Drop anywhere on the page.
    let depth = 0;
    document.addEventListener("dragenter", (event) => { event.preventDefault(); depth += 1; document.body.classList.add("dragging"); });
    document.addEventListener("dragleave", () => { depth = Math.max(0, depth - 1); if (!depth) document.body.classList.remove("dragging"); });
    document.addEventListener("dragover", (event) => event.preventDefault());
    document.addEventListener("drop", (event) => {
      event.preventDefault();
      depth = 0;
      document.body.classList.remove("dragging");
      const file = event.dataTransfer && event.dataTransfer.files[0];
      if (file) upload(file);
    });
  }

  setupViewer();
  setupControls();
  init();
})();
