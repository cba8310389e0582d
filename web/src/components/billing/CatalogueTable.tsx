import { useState } from "react";
import { useTranslation } from "react-i18next";
import { setPrice, type ServicePrice } from "../../apis/billing";
import { errorMessage } from "../../errors";
import { parseYuan, yuan } from "../../money";

/** One price of the catalogue, edited in 元 and saved in 分. */
function PriceRow({ price, editable, onSaved }: { price: ServicePrice; editable: boolean; onSaved: () => void }) {
  const { t } = useTranslation();
  const [text, setText] = useState(yuan(price.price_fen));
  const [busy, setBusy] = useState(false);
  const [message, setMessage] = useState<{ ok: boolean; text: string } | null>(null);

  async function save() {
    const fen = parseYuan(text);
    if (fen === null) return setMessage({ ok: false, text: t("billing.catalogue.invalidPrice") });
    setBusy(true);
    setMessage(null);
    try {
      const saved = await setPrice(price.code, price.tier, fen);
      setText(yuan(saved.price_fen));
      setMessage({ ok: true, text: t("billing.catalogue.saved") });
      onSaved();
    } catch (err) {
      setMessage({ ok: false, text: errorMessage(err, t) });
    } finally {
      setBusy(false);
    }
  }

  return (
    <tr data-testid="price-row" data-code={price.code} data-tier={price.tier} data-fen={price.price_fen}>
      <td className="cell-mono">{price.code}</td>
      <td>
        {price.name}
        {price.insurance_payable ? <span className="badge badge-info">{t("billing.catalogue.insured")}</span> : null}
      </td>
      <td>{price.case_kind ? t(`kind.${price.case_kind}`) : t("common.none")}</td>
      <td>{t(`billing.tier.${price.tier}`)}</td>
      <td className="cell-money">
        {editable ? (
          <form
            className="inline-form"
            onSubmit={(e) => {
              e.preventDefault();
              void save();
            }}
          >
            <span aria-hidden="true">¥</span>
            <input
              className="input-money"
              inputMode="decimal"
              aria-label={t("billing.catalogue.priceLabel", { name: price.name, tier: t(`billing.tier.${price.tier}`) })}
              value={text}
              onChange={(e) => (setText(e.target.value), setMessage(null))}
              data-testid="price-input"
            />
            <button type="submit" className="btn btn-secondary btn-small" disabled={busy} data-testid="price-save">
              {t("billing.save")}
            </button>
            {message ? (
              <span className={message.ok ? "form-ok-inline" : "form-error-inline"} role={message.ok ? "status" : "alert"} data-testid={message.ok ? "price-saved" : "price-error"}>
                {message.text}
              </span>
            ) : null}
          </form>
        ) : (
          `¥${yuan(price.price_fen)}`
        )}
      </td>
    </tr>
  );
}

/** The community's service catalogue: each service's price per tier (三级 / 二级 / 基层). */
export default function CatalogueTable({ prices, editable, onSaved }: { prices: ServicePrice[]; editable: boolean; onSaved: () => void }) {
  const { t } = useTranslation();
  return (
    <div className="table-wrap">
      <table className="data-table" data-testid="catalogue-table">
        <thead>
          <tr>
            <th scope="col">{t("billing.code")}</th>
            <th scope="col">{t("billing.service")}</th>
            <th scope="col">{t("billing.catalogue.kind")}</th>
            <th scope="col">{t("billing.catalogue.tier")}</th>
            <th scope="col">{t("billing.catalogue.price")}</th>
          </tr>
        </thead>
        <tbody>
          {prices.map((price) => (
            <PriceRow key={`${price.code}/${price.tier}`} price={price} editable={editable} onSaved={onSaved} />
          ))}
        </tbody>
      </table>
    </div>
  );
}
