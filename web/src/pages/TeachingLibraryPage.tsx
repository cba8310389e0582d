// The teaching library (教学库, 网站点播): recorded teaching rounds and lectures, searched by words and
// filtered by specialty (both kept in the address, so going back keeps them); each card opens the player.

import { useEffect, useState, type FormEvent } from "react";
import { useSearchParams } from "react-router-dom";
import { useTranslation } from "react-i18next";
import PageHeader from "../components/PageHeader";
import Panel from "../components/Panel";
import { errorMessage } from "../errors";
import { useLoad } from "../hooks/useLoad";
import type { PageDef } from "../routes";
import { listLibrary } from "../teaching/api";
import LibraryCard from "../teaching/LibraryCard";
import SchedulePanel from "../teaching/SchedulePanel";
import "../teaching/teaching.css";

export default function TeachingLibraryPage({ page }: { page: PageDef }) {
  const { t } = useTranslation();
  const [params, setParams] = useSearchParams();
  const q = params.get("q") ?? "";
  const specialty = params.get("specialty") ?? "";
  const [text, setText] = useState(q);
  const [specialties, setSpecialties] = useState<string[]>([]);
  const [load, refresh] = useLoad((signal) => listLibrary({ q, specialty }, signal), [q, specialty]);

  // The filter offers every specialty seen so far (the API has no list of its own).
  useEffect(() => {
    if (load.status !== "ok") return;
    setSpecialties((known) => [...new Set([...known, ...load.data.map((item) => item.specialty)])].sort());
  }, [load]);

  const options = specialty && !specialties.includes(specialty) ? [...specialties, specialty] : specialties;

  const update = (next: { q?: string; specialty?: string }) => {
    const merged = { q, specialty, ...next };
    const search = new URLSearchParams();
    if (merged.q) search.set("q", merged.q);
    if (merged.specialty) search.set("specialty", merged.specialty);
    setParams(search);
  };
  const submit = (event: FormEvent) => {
    event.preventDefault();
    update({ q: text.trim() });
  };

  return (
    <div className="page" data-testid="teaching-library-page">
      <PageHeader title={t(page.titleKey)} />
      <p className="text-muted">{t("teaching.library.intro")}</p>
      <SchedulePanel />
      <form className="teaching-search" role="search" onSubmit={submit}>
        <input
          type="search"
          value={text}
          onChange={(event) => setText(event.target.value)}
          placeholder={t("teaching.library.searchPlaceholder")}
          aria-label={t("teaching.library.search")}
          data-testid="teaching-search"
        />
        <button type="submit" className="btn btn-primary" data-testid="teaching-search-submit">
          {t("teaching.library.search")}
        </button>
        <label>
          {t("teaching.library.specialty")}{" "}
          <select value={specialty} onChange={(event) => update({ specialty: event.target.value })} data-testid="teaching-specialty">
            <option value="">{t("teaching.library.allSpecialties")}</option>
            {options.map((name) => (
              <option key={name} value={name}>
                {name}
              </option>
            ))}
          </select>
        </label>
      </form>
      {load.status === "loading" ? (
        <p className="loading" role="status">
          {t("common.loading")}
        </p>
      ) : load.status === "error" ? (
        <Panel tone="error" title={t("teaching.library.loadError")} testId="teaching-library-error">
          <p>{errorMessage(load.error, t)}</p>
          <button type="button" className="btn btn-secondary" onClick={refresh}>
            {t("common.retry")}
          </button>
        </Panel>
      ) : load.data.length === 0 ? (
        <Panel title={t(q || specialty ? "teaching.library.noMatch" : "teaching.library.empty")} testId="teaching-library-empty">
          <p>{t(q || specialty ? "teaching.library.noMatchHint" : "teaching.library.emptyHint")}</p>
        </Panel>
      ) : (
        <ul className="teaching-grid" data-testid="teaching-items">
          {load.data.map((item) => (
            <LibraryCard key={item.id} item={item} />
          ))}
        </ul>
      )}
    </div>
  );
}
