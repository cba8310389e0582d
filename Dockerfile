# One image for the API server, the workers and the signalling server (the command differs).
FROM node:20-bookworm-slim AS web
WORKDIR /src/web
COPY web/package.json web/package-lock.json ./
RUN npm ci --no-audit --no-fund
COPY web/ ./
RUN npm run build

FROM python:3.11-slim-bookworm
ENV PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1 TELEMED_MODE=production TELEMED_DATA_DIR=/var/lib/telemed
RUN apt-get update \
 && apt-get install -y --no-install-recommends dcmtk libgl1 curl ffmpeg \
 && rm -rf /var/lib/apt/lists/* \
 && useradd --system --create-home --home-dir /var/lib/telemed telemed
WORKDIR /app
COPY requirements.lock ./
RUN pip install --no-cache-dir -r requirements.lock
COPY pyproject.toml README.md ./
COPY server/ server/
COPY imaging/ imaging/
COPY signaling/ signaling/
COPY worker/ worker/
RUN pip install --no-cache-dir --no-deps .
COPY --from=web /src/web/dist /app/web/dist
USER telemed
EXPOSE 8000 8001
CMD ["telemed", "serve"]
