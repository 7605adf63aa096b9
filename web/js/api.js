// The REST API: JSON with a bearer token, the API's own error messages, and uploads with progress.

export class ApiError extends Error {
  constructor(status, code, message) {
    super(message);
    Object.assign(this, { status, code });
  }
}

async function errorOf(response) {
  let body = null;
  try { body = await response.json(); } catch { /* not JSON */ }
  const error = body?.error || {};
  return new ApiError(response.status, error.code || `http_${response.status}`,
                      error.message || body?.message || `${response.status} ${response.statusText}`);
}

export class Api {
  constructor(base, token) {
    this.base = base.replace(/\/$/, "");
    this.token = token;
  }

  async request(method, path, body) {
    let response;
    try {
      response = await fetch(this.base + path, {
        method,
        headers: { Authorization: `Bearer ${this.token}`, ...(body ? { "Content-Type": "application/json" } : {}) },
        body: body ? JSON.stringify(body) : undefined,
      });
    } catch { // the browser's own words ("Failed to fetch") say nothing to people
      throw new ApiError(0, "network", "the server could not be reached (the network, or the server away)");
    }
    if (!response.ok) throw await errorOf(response);
    return response.status === 204 ? null : response.json();
  }

  get(path) { return this.request("GET", path); }

  post(path, body) { return this.request("POST", path, body || {}); }

  async all(path) {
    const items = [];
    let cursor = null;
    do {
      const sep = path.includes("?") ? "&" : "?";
      const page = await this.get(`${path}${sep}limit=100${cursor ? `&cursor=${encodeURIComponent(cursor)}` : ""}`);
      items.push(...page.items);
      cursor = page.next_cursor;
    } while (cursor);
    return items;
  }

  // Asks for an upload grant, then PUTs the file (or its parts) straight to S3. onProgress(fraction);
  // onGrant(document id) as soon as the grant names it (its document item may arrive before the PUT returns).
  // `documentId`: the document to upload to (a retry of an interrupted upload goes to the one it reserved).
  // Returns the S3 version the file became (null where the bucket names none): a version passed over for a
  // newer one is listed in its document's `passed_over`.
  async upload(workspace, file, onProgress, onGrant = () => {}, documentId = null) {
    const contentType = file.type || guessType(file.name);
    const grant = await this.post(`/workspaces/${workspace}/uploads`, {
      filename: file.name, size: file.size, content_type: contentType, ...(documentId ? { document_id: documentId } : {}) });
    onGrant(grant.document_id);
    if (grant.method === "multipart") {
      const { part_size: partSize, parts, upload_token: uploadToken } = grant.multipart;
      let done = 0;
      for (const part of parts) {
        const start = (part.part_number - 1) * partSize;
        const blob = file.slice(start, Math.min(file.size, start + partSize));
        await put(part.url, blob, {}, (loaded) => onProgress((done + loaded) / file.size));
        done += blob.size;
      }
      const base = `/workspaces/${workspace}/documents/${grant.document_id}/upload`;
      const completed = await this.post(`${base}/complete`, { upload_token: uploadToken });
      onProgress(1);
      return completed.version_id || null;
    }
    // Content-Length is the browser's to set; Content-Type must match the signed one.
    const headers = { "Content-Type": grant.headers?.["Content-Type"] || contentType };
    const version = await put(grant.url, file, headers, (loaded) => onProgress(loaded / file.size));
    onProgress(1);
    return version;
  }
}

function put(url, body, headers, onLoaded) {
  return new Promise((resolve, reject) => {
    const xhr = new XMLHttpRequest();
    xhr.open("PUT", url);
    for (const [name, value] of Object.entries(headers)) xhr.setRequestHeader(name, value);
    xhr.upload.onprogress = (event) => onLoaded(event.loaded);
    xhr.onload = () => (xhr.status >= 200 && xhr.status < 300
      ? resolve(xhr.getResponseHeader("x-amz-version-id")) // exposed by the bucket's CORS rules
      : reject(new ApiError(xhr.status, "upload_failed", `the storage refused the upload (${xhr.status})`)));
    xhr.onerror = () => reject(new ApiError(0, "upload_failed", "the upload was interrupted (network error)"));
    xhr.send(body);
  });
}

const TYPES = { pdf: "application/pdf", png: "image/png", jpg: "image/jpeg", jpeg: "image/jpeg", tif: "image/tiff",
                tiff: "image/tiff", webp: "image/webp", gif: "image/gif", svg: "image/svg+xml" };

function guessType(name) {
  return TYPES[name.split(".").pop().toLowerCase()] || "application/octet-stream";
}
