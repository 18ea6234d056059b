from tests.factories import make_agency, make_connection, make_model


def test_ingest_and_totals(db, sql):
    w = make_agency(sql)
    conn = make_connection(sql, w.agency_id)
    model = make_model(sql, w.agency_id, "Ava", conn)
    claimed = db.call("fanvue_acquire_model", model_id=model, worker="w1")
    assert claimed["acquired"]
    items = [
        {
            "key": f"o:{i}:tip",
            "kind": "earning",
            "date": "2026-01-01T00:00:00Z",
            "source": "tip",
            "gross": 1000,
            "net": 800,
            "raw": {"i": i},
        }
        for i in range(3)
    ]
    out = db.call(
        "fanvue_ingest_page",
        model_id=model,
        worker="w1",
        stream="earnings",
        items=items + items[:1],
        window_start="2025-12-01T00:00:00Z",
        window_end="2026-01-02T00:00:00Z",
        last_page=True,
    )
    assert out["inserted"] == 3 and out["revenue_gross_cents"] == 3000
    again = db.call(
        "fanvue_ingest_page",
        model_id=model,
        worker="w1",
        stream="earnings",
        items=items,
        window_start="2025-12-01T00:00:00Z",
        window_end="2026-01-02T00:00:00Z",
        last_page=True,
    )
    assert again["inserted"] == 0 and again["unchanged"] == 3
    total = sql.execute("select revenue_total from models where id = %s", (model,)).fetchone()[0]
    assert str(total) == "30.00"
    facts = db.call("fanvue_diagnosis_facts", model_id=model)
    assert facts["ledger"]["gross_cents"] == 3000
