"""The OnyxOS creators' Fanvue earnings histories, as a reviewed table (see onyxos.py).

LEGACY: every distinct sale in the fixture's legacy `fanvue_transactions` rows, one line each
(duplicates under the K1/K2/K3 keys collapsed on date + source + gross + fan; Olivia's four sales
that the legacy sync filed under Lana are listed under Olivia only). Derived from
tests/fixtures/onyxos/onyxos-data.sql; tests/fanvue/test_sandbox_onyxos.py re-derives it from there.
NEVER_FETCHED: sales the legacy sync never stored: before its 2024-01-01 default cursor, or after
the last run that could still read that creator (Lana's agency grant died 2026-02-06 14:20; Olivia's
last stored gross, 796.04 at 2026-02-06 20:31, was her all-time total; Lexi's token died 2026-02-04).
Mia never connected: her whole history is never fetched.

Line: `date source gross_cents net_cents fan_uuid|- fan_handle|- currency|-` (`-` = null; the legacy
`USD` label is Fanvue's null currency, other labels are kept as Fanvue sent them).
"""

from __future__ import annotations

LEGACY: dict[str, str] = {
    "lanaa": """\
2025-06-24T21:23:44.070Z subscription 399 399 5cd6a7f5-781c-4093-a33e-16ce0bdda801 supporting-owl-28 -
2025-06-25T02:00:46.016Z subscription 999 799 c536807b-b0c3-4736-a85e-36a6bcc2dd44 quiet-heron-99 -
2025-06-26T20:19:24.949Z message 800 640 1d1c857d-8152-4e20-adfa-80d1707ccd45 wild-panda-60 -
2025-07-16T07:39:12.715Z message 1000 800 e191f4c0-ae4d-40af-906a-e69b7b212b8d happy-koala-56 -
2025-07-19T01:22:50.260Z message 1200 960 8cdf3f18-5b41-4e41-b9a7-d9ae1316d29b rusty-fox-33 -
2025-07-27T04:52:54.513Z message 3000 2400 50966ab5-9297-4fa8-b70e-5cd4aa6bb01a sunny-puffin-72 -
2025-08-02T04:40:34.076Z renewal 999 799 a744d272-88d7-4eca-9524-d6ea449ef92a silver-tiger-17 -
2025-08-17T01:14:04.761Z subscription 999 799 c536807b-b0c3-4736-a85e-36a6bcc2dd44 quiet-heron-99 -
2025-08-17T18:16:41.191Z renewal 999 799 c536807b-b0c3-4736-a85e-36a6bcc2dd44 quiet-heron-99 -
2025-08-19T05:23:19.807Z subscription 0 0 5cd6a7f5-781c-4093-a33e-16ce0bdda801 supporting-owl-28 -
2025-08-22T13:42:09.285Z subscription 999 799 7b0f2256-582d-43d7-b712-5734d5c6fef3 midnight-badger-67 -
2025-08-27T00:01:14.403Z subscription 999 799 c0cc682d-fde1-43a1-8212-a3b19af7d62a cosmic-ferret-54 -
2025-08-27T15:45:38.428Z post 1500 1200 ad7397ec-926d-4a14-80d1-a8c5c80c7db2 velvet-jaguar-35 -
2025-09-02T15:36:07.547Z subscription 999 799 e191f4c0-ae4d-40af-906a-e69b7b212b8d happy-koala-56 -
2025-09-04T22:31:39.566Z message 2000 1600 5cd6a7f5-781c-4093-a33e-16ce0bdda801 supporting-owl-28 -
2025-09-05T17:14:56.805Z tip 500 400 5cd6a7f5-781c-4093-a33e-16ce0bdda801 supporting-owl-28 -
2025-09-09T07:44:49.243Z mediaLink 1200 960 5cd6a7f5-781c-4093-a33e-16ce0bdda801 supporting-owl-28 -
2025-09-19T00:21:06.547Z tip 500 400 8cdf3f18-5b41-4e41-b9a7-d9ae1316d29b rusty-fox-33 -
2025-10-01T11:51:56.142Z subscription 999 799 8cdf3f18-5b41-4e41-b9a7-d9ae1316d29b rusty-fox-33 -
2025-10-02T12:31:24.148Z subscription 999 799 c0cc682d-fde1-43a1-8212-a3b19af7d62a cosmic-ferret-54 -
2025-10-04T03:18:07.357Z subscription 999 799 4a73df24-79d9-4f95-b0f7-4d58c6c3befc frosty-llama-25 -
2025-10-05T11:06:39.481Z message 1500 1200 4a73df24-79d9-4f95-b0f7-4d58c6c3befc frosty-llama-25 -
2025-10-05T13:42:14.729Z subscription 999 799 1d1c857d-8152-4e20-adfa-80d1707ccd45 wild-panda-60 -
2025-10-07T19:01:47.510Z referral 250 250 - - -
2025-10-08T19:17:08.614Z subscription 999 799 085f671b-8979-4215-a8a7-492d22d7b374 mellow-kiwi-85 -
2025-10-10T10:52:34.552Z tip 2000 1600 dd10431d-4527-43c7-ae40-1847bf6adf13 sleepy-dingo-41 -
2025-10-24T12:18:26.860Z message 3000 2400 ad7397ec-926d-4a14-80d1-a8c5c80c7db2 velvet-jaguar-35 -
2025-10-25T09:28:47.745Z message 1500 1200 1d1c857d-8152-4e20-adfa-80d1707ccd45 wild-panda-60 -
2025-10-26T11:20:00.998Z message 5000 4000 e191f4c0-ae4d-40af-906a-e69b7b212b8d happy-koala-56 -
2025-10-26T19:11:34.687Z renewal 999 799 50aeaab7-3485-4012-971d-92eea4fbc765 gentle-hare-61 -
2025-10-27T02:55:08.926Z tip 1000 800 da4c4f8e-1dad-4528-849c-d020030f8257 golden-moose-85 -
2025-10-29T17:55:38.863Z renewal 999 799 085f671b-8979-4215-a8a7-492d22d7b374 mellow-kiwi-85 -
2025-11-01T19:44:01.006Z message 2000 1600 fa14a682-4aca-40aa-b540-01afb0fd4a2e curious-walrus-21 -
2025-11-02T06:49:15.978Z message 3000 2400 ad7397ec-926d-4a14-80d1-a8c5c80c7db2 velvet-jaguar-35 -
2025-11-09T06:46:12.726Z subscription 999 799 a8f0b74e-be9a-405d-840e-66df8ad49f56 brave-crane-45 -
2025-11-13T15:17:59.253Z post 500 400 1010414f-ff88-4d08-85fd-5671b79ba0b5 lucky-gecko-80 -
2025-11-14T19:53:20.974Z tip 1000 800 c0cc682d-fde1-43a1-8212-a3b19af7d62a cosmic-ferret-54 -
2025-11-18T01:39:31.853Z message 500 400 1010414f-ff88-4d08-85fd-5671b79ba0b5 lucky-gecko-80 -
2025-11-26T21:19:49.942Z message 2500 2000 ad7397ec-926d-4a14-80d1-a8c5c80c7db2 velvet-jaguar-35 -
2025-11-27T05:26:20.945Z renewal 999 799 085f671b-8979-4215-a8a7-492d22d7b374 mellow-kiwi-85 -
2025-11-27T21:56:52.426Z post 999 799 fa14a682-4aca-40aa-b540-01afb0fd4a2e curious-walrus-21 -
2025-11-29T16:02:34.968Z subscription 0 0 7b0f2256-582d-43d7-b712-5734d5c6fef3 midnight-badger-67 -
2025-12-02T18:45:16.146Z subscription 999 799 8cdf3f18-5b41-4e41-b9a7-d9ae1316d29b rusty-fox-33 -
2025-12-03T12:20:15.919Z subscription 999 799 a8f0b74e-be9a-405d-840e-66df8ad49f56 brave-crane-45 -
2025-12-06T11:39:47.833Z renewal 999 799 50966ab5-9297-4fa8-b70e-5cd4aa6bb01a sunny-puffin-72 -
2025-12-07T22:17:47.525Z mediaLink 1200 960 ad7397ec-926d-4a14-80d1-a8c5c80c7db2 velvet-jaguar-35 -
2025-12-08T13:15:25.616Z tip 300 240 ad7397ec-926d-4a14-80d1-a8c5c80c7db2 velvet-jaguar-35 -
2025-12-10T09:59:09.355Z tip 300 240 7b0f2256-582d-43d7-b712-5734d5c6fef3 midnight-badger-67 -
2025-12-13T09:04:29.055Z message 3000 2400 50966ab5-9297-4fa8-b70e-5cd4aa6bb01a sunny-puffin-72 -
2025-12-15T11:00:17.535Z mediaLink 1200 960 ad7397ec-926d-4a14-80d1-a8c5c80c7db2 velvet-jaguar-35 -
2025-12-20T19:41:49.739Z renewal 999 799 1010414f-ff88-4d08-85fd-5671b79ba0b5 lucky-gecko-80 -
2025-12-21T01:35:51.402Z tip 500 400 4a73df24-79d9-4f95-b0f7-4d58c6c3befc frosty-llama-25 -
2025-12-22T03:35:35.228Z message 5000 4000 4a73df24-79d9-4f95-b0f7-4d58c6c3befc frosty-llama-25 -
2025-12-23T08:52:23.315Z tip 10000 8000 085f671b-8979-4215-a8a7-492d22d7b374 mellow-kiwi-85 -
2025-12-25T07:04:55.127Z renewal 999 799 ad7397ec-926d-4a14-80d1-a8c5c80c7db2 velvet-jaguar-35 -
2025-12-26T12:08:27.197Z renewal 999 799 fa14a682-4aca-40aa-b540-01afb0fd4a2e curious-walrus-21 -
2026-01-01T01:37:04.947Z renewal 999 799 c536807b-b0c3-4736-a85e-36a6bcc2dd44 quiet-heron-99 -
2026-01-01T05:27:27.834Z message 800 640 da4c4f8e-1dad-4528-849c-d020030f8257 golden-moose-85 -
2026-01-02T04:02:51.068Z subscription 999 799 c536807b-b0c3-4736-a85e-36a6bcc2dd44 quiet-heron-99 -
2026-01-02T16:26:23.176Z post 500 400 c0cc682d-fde1-43a1-8212-a3b19af7d62a cosmic-ferret-54 -
2026-01-04T02:15:25.323Z referral 250 250 - - -
2026-01-05T20:34:16.710Z message 5000 4000 1010414f-ff88-4d08-85fd-5671b79ba0b5 lucky-gecko-80 -
2026-01-06T11:13:26.251Z message 1200 960 7b0f2256-582d-43d7-b712-5734d5c6fef3 midnight-badger-67 -
2026-01-06T22:14:52.664Z message 1000 800 e191f4c0-ae4d-40af-906a-e69b7b212b8d happy-koala-56 -
2026-01-08T21:05:18.903Z tip 1000 800 ad7397ec-926d-4a14-80d1-a8c5c80c7db2 velvet-jaguar-35 -
2026-01-10T23:18:33.229Z subscription 999 799 c0cc682d-fde1-43a1-8212-a3b19af7d62a cosmic-ferret-54 -
2026-01-11T18:30:44.562Z mediaLink 1200 960 7b0f2256-582d-43d7-b712-5734d5c6fef3 midnight-badger-67 -
2026-01-12T13:08:01.061Z subscription 999 799 dd10431d-4527-43c7-ae40-1847bf6adf13 sleepy-dingo-41 -
2026-01-14T09:32:34.036Z message 1000 800 4a73df24-79d9-4f95-b0f7-4d58c6c3befc frosty-llama-25 -
2026-01-14T21:11:31.006Z subscription 999 799 1010414f-ff88-4d08-85fd-5671b79ba0b5 lucky-gecko-80 -
2026-01-15T00:07:56.834Z tip 2000 1600 5cd6a7f5-781c-4093-a33e-16ce0bdda801 supporting-owl-28 EUR
2026-01-15T06:16:18.547Z post 1500 1200 ad7397ec-926d-4a14-80d1-a8c5c80c7db2 velvet-jaguar-35 -
2026-01-15T22:24:52.985Z message 500 400 8cdf3f18-5b41-4e41-b9a7-d9ae1316d29b rusty-fox-33 -
2026-01-18T02:39:15.669Z tip 1000 800 085f671b-8979-4215-a8a7-492d22d7b374 mellow-kiwi-85 -
2026-01-18T21:18:25.109Z renewal 999 799 8cdf3f18-5b41-4e41-b9a7-d9ae1316d29b rusty-fox-33 -
2026-01-19T14:04:26.544Z subscription 999 799 da4c4f8e-1dad-4528-849c-d020030f8257 golden-moose-85 -
2026-01-20T04:31:12.691Z mediaLink 1200 960 8cdf3f18-5b41-4e41-b9a7-d9ae1316d29b rusty-fox-33 -
2026-01-22T01:23:19.449Z post 1500 1200 1d1c857d-8152-4e20-adfa-80d1707ccd45 wild-panda-60 -
2026-01-25T09:11:23.284Z subscription 999 799 fa14a682-4aca-40aa-b540-01afb0fd4a2e curious-walrus-21 -
2026-01-26T02:27:58.134Z message 2500 2000 1d1c857d-8152-4e20-adfa-80d1707ccd45 wild-panda-60 -
2026-01-28T19:44:00.279Z message 1500 1200 7b0f2256-582d-43d7-b712-5734d5c6fef3 midnight-badger-67 -
2026-01-29T01:39:05.877Z message 3000 2400 a8f0b74e-be9a-405d-840e-66df8ad49f56 brave-crane-45 -
2026-01-29T01:40:11.237Z subscription 999 799 a8f0b74e-be9a-405d-840e-66df8ad49f56 brave-crane-45 -
2026-01-29T05:51:49.007Z mediaLink 1200 960 e191f4c0-ae4d-40af-906a-e69b7b212b8d happy-koala-56 -
2026-01-29T08:20:09.261Z post 500 400 1d1c857d-8152-4e20-adfa-80d1707ccd45 wild-panda-60 -
2026-01-31T18:42:31.989Z tip 300 240 085f671b-8979-4215-a8a7-492d22d7b374 mellow-kiwi-85 -
2026-02-01T09:11:49.862Z message 2500 2000 dd10431d-4527-43c7-ae40-1847bf6adf13 sleepy-dingo-41 -
2026-02-02T09:50:43.885Z tip 1000 800 50966ab5-9297-4fa8-b70e-5cd4aa6bb01a sunny-puffin-72 -
2026-02-02T21:34:26.637Z renewal 999 799 085f671b-8979-4215-a8a7-492d22d7b374 mellow-kiwi-85 -
2026-02-03T02:07:32.756Z subscription 999 799 a744d272-88d7-4eca-9524-d6ea449ef92a silver-tiger-17 -
2026-02-03T08:49:49.049Z tip 2000 1600 dd10431d-4527-43c7-ae40-1847bf6adf13 sleepy-dingo-41 -
2026-02-03T11:55:17.082Z tip 1000 800 c0cc682d-fde1-43a1-8212-a3b19af7d62a cosmic-ferret-54 -
2026-02-04T05:12:33.629Z mediaLink 1200 960 da4c4f8e-1dad-4528-849c-d020030f8257 golden-moose-85 -
2026-02-04T07:33:24.659Z tip 2500 2000 a8f0b74e-be9a-405d-840e-66df8ad49f56 brave-crane-45 -
2026-02-04T08:48:40.292Z subscription 999 799 da4c4f8e-1dad-4528-849c-d020030f8257 golden-moose-85 -
2026-02-05T06:01:02.847Z tip 5000 4000 085f671b-8979-4215-a8a7-492d22d7b374 mellow-kiwi-85 -
2026-02-06T09:58:21.406Z message 2500 2000 a8f0b74e-be9a-405d-840e-66df8ad49f56 brave-crane-45 -
2026-02-06T11:47:02.913Z tip 1000 800 fa14a682-4aca-40aa-b540-01afb0fd4a2e curious-walrus-21 -
2026-02-06T13:12:44.158Z renewal 999 799 7b0f2256-582d-43d7-b712-5734d5c6fef3 midnight-badger-67 -
2026-02-06T13:40:09.770Z message 1500 1200 50966ab5-9297-4fa8-b70e-5cd4aa6bb01a sunny-puffin-72 -
""",
    "oliviarae": """\
2025-09-11T15:41:07.697Z message 1200 960 4a73df24-79d9-4f95-b0f7-4d58c6c3befc frosty-llama-25 -
2025-09-27T05:15:17.580Z subscription 0 0 a4b756d3-a828-457e-95b9-2f500ab762c9 humble-bear-28 -
2025-09-27T11:34:58.948Z message 1000 800 c0cc682d-fde1-43a1-8212-a3b19af7d62a cosmic-ferret-54 -
2025-09-29T13:29:06.148Z subscription 499 399 c8f70a53-7b39-47db-8707-744988fbf4dc shy-gazelle-58 -
2025-09-30T13:41:30.379Z message 1500 1200 3060b842-3c9c-40ac-8e27-b27f8b82a73f rapid-bison-25 -
2025-10-06T08:54:20.360Z subscription 0 0 9b79cd5d-8678-4ad2-9294-7cf959d2f776 bold-lynx-39 -
2025-10-07T12:46:16.062Z post 500 400 b9be5597-0bca-4dc9-b17c-ab19af7f2f1d witty-otter-84 -
2025-10-08T06:50:35.679Z message 1500 1200 e8e18ce4-8755-47b9-80ac-74207d088551 calm-marten-21 -
2025-10-12T12:58:22.624Z message 1200 960 c1a72619-3612-4de8-847c-fea86e2c3c05 noble-raven-16 -
2025-10-18T08:19:04.399Z subscription 0 0 7a7545c4-aa9a-45e5-a0b7-1e814e39cf70 zesty-wolf-42 -
2025-10-25T12:27:49.982Z message 1200 960 e8e18ce4-8755-47b9-80ac-74207d088551 calm-marten-21 -
2025-11-01T07:09:12.383Z subscription 499 399 3060b842-3c9c-40ac-8e27-b27f8b82a73f rapid-bison-25 -
2025-11-07T22:00:14.588Z message 2000 1600 c1a72619-3612-4de8-847c-fea86e2c3c05 noble-raven-16 -
2025-11-12T14:46:28.933Z subscription 499 399 43c98970-259f-444b-ac7c-12454b500bd0 lazy-falcon-98 -
2025-11-16T06:34:14.054Z subscription 0 0 a4b756d3-a828-457e-95b9-2f500ab762c9 humble-bear-28 -
2025-11-16T10:44:04.745Z message 2500 2000 e8e18ce4-8755-47b9-80ac-74207d088551 calm-marten-21 -
2025-11-17T20:57:56.170Z renewal 499 399 dd10431d-4527-43c7-ae40-1847bf6adf13 sleepy-dingo-41 -
2025-11-17T21:17:28.157Z message 1500 1200 e8e18ce4-8755-47b9-80ac-74207d088551 calm-marten-21 -
2025-11-25T23:24:19.752Z subscription 0 0 c1a72619-3612-4de8-847c-fea86e2c3c05 noble-raven-16 -
2025-11-26T06:53:02.949Z post 1500 1200 4a73df24-79d9-4f95-b0f7-4d58c6c3befc frosty-llama-25 -
2025-12-04T01:38:46.974Z message 800 640 7a7545c4-aa9a-45e5-a0b7-1e814e39cf70 zesty-wolf-42 -
2025-12-08T18:08:58.522Z message 500 400 3060b842-3c9c-40ac-8e27-b27f8b82a73f rapid-bison-25 -
2025-12-09T10:00:08.362Z subscription 0 0 e191f4c0-ae4d-40af-906a-e69b7b212b8d happy-koala-56 -
2025-12-17T23:26:19.830Z message 3000 2400 5c607498-3d44-4923-9e66-760b1e565703 eager-eagle-77 -
2025-12-19T06:39:57.046Z renewal 499 399 43c98970-259f-444b-ac7c-12454b500bd0 lazy-falcon-98 -
2025-12-19T18:51:56.981Z message 1000 800 c1a72619-3612-4de8-847c-fea86e2c3c05 noble-raven-16 GBP
2025-12-25T18:02:56.742Z tip 1000 800 434ca228-e8ca-4bfc-a225-882e68c2ee55 proud-sparrow-16 -
2025-12-27T01:56:49.946Z subscription 0 0 8cdf3f18-5b41-4e41-b9a7-d9ae1316d29b rusty-fox-33 -
2025-12-28T01:31:59.396Z tip 300 240 49078ecb-98fb-434e-9320-36f2bd084413 clever-ibis-95 -
2025-12-30T14:49:09.291Z subscription 499 399 c8f70a53-7b39-47db-8707-744988fbf4dc shy-gazelle-58 -
2025-12-31T06:56:14.644Z message 4000 3200 8cdf3f18-5b41-4e41-b9a7-d9ae1316d29b rusty-fox-33 -
2026-01-01T15:58:45.194Z subscription 0 0 085f671b-8979-4215-a8a7-492d22d7b374 mellow-kiwi-85 -
2026-01-03T09:09:55.833Z message 1000 800 434ca228-e8ca-4bfc-a225-882e68c2ee55 proud-sparrow-16 -
2026-01-04T04:40:44.979Z referral 120 120 - - -
2026-01-08T11:57:15.232Z tip 1000 800 4a73df24-79d9-4f95-b0f7-4d58c6c3befc frosty-llama-25 -
2026-01-11T06:51:13.431Z subscription 499 399 b9be5597-0bca-4dc9-b17c-ab19af7f2f1d witty-otter-84 -
2026-01-12T10:15:34.351Z subscription 0 0 e8e18ce4-8755-47b9-80ac-74207d088551 calm-marten-21 -
2026-01-14T04:07:51.254Z message 800 640 3060b842-3c9c-40ac-8e27-b27f8b82a73f rapid-bison-25 -
2026-01-15T04:39:47.705Z subscription 499 399 c0cc682d-fde1-43a1-8212-a3b19af7d62a cosmic-ferret-54 -
2026-01-19T09:50:10.451Z subscription 499 399 9b79cd5d-8678-4ad2-9294-7cf959d2f776 bold-lynx-39 -
2026-01-20T21:37:16.845Z subscription 0 0 8cdf3f18-5b41-4e41-b9a7-d9ae1316d29b rusty-fox-33 -
2026-01-21T00:46:32.401Z message 500 400 5c607498-3d44-4923-9e66-760b1e565703 eager-eagle-77 -
2026-01-22T22:21:51.236Z message 4000 3200 c8f70a53-7b39-47db-8707-744988fbf4dc shy-gazelle-58 -
2026-01-23T13:36:14.968Z message 1500 1200 c1a72619-3612-4de8-847c-fea86e2c3c05 noble-raven-16 -
2026-01-24T11:23:45.158Z message 3000 2400 43c98970-259f-444b-ac7c-12454b500bd0 lazy-falcon-98 -
2026-01-25T20:32:45.591Z subscription 0 0 3060b842-3c9c-40ac-8e27-b27f8b82a73f rapid-bison-25 -
2026-01-26T13:48:06.986Z message 5000 4000 e191f4c0-ae4d-40af-906a-e69b7b212b8d happy-koala-56 -
2026-01-29T12:07:48.098Z tip 10000 8000 c1a72619-3612-4de8-847c-fea86e2c3c05 noble-raven-16 -
2026-01-31T13:22:53.760Z message 2500 2000 e8e18ce4-8755-47b9-80ac-74207d088551 calm-marten-21 -
2026-01-31T17:28:21.720Z subscription 0 0 5c607498-3d44-4923-9e66-760b1e565703 eager-eagle-77 -
2026-02-01T00:33:12.368Z message 1000 800 085f671b-8979-4215-a8a7-492d22d7b374 mellow-kiwi-85 -
2026-02-01T10:33:12.332Z message 1500 1200 c8f70a53-7b39-47db-8707-744988fbf4dc shy-gazelle-58 -
2026-02-03T18:10:28.752Z renewal 499 399 e8e18ce4-8755-47b9-80ac-74207d088551 calm-marten-21 -
2026-02-03T20:20:57.916Z subscription 499 399 8cdf3f18-5b41-4e41-b9a7-d9ae1316d29b rusty-fox-33 -
2026-02-03T21:52:48.597Z tip 500 400 dd10431d-4527-43c7-ae40-1847bf6adf13 sleepy-dingo-41 -
2026-02-04T05:53:31.561Z post 500 400 c1a72619-3612-4de8-847c-fea86e2c3c05 noble-raven-16 -
2026-02-04T14:15:56.191Z subscription 499 399 3060b842-3c9c-40ac-8e27-b27f8b82a73f rapid-bison-25 -
2026-02-05T15:39:52.099Z message 500 400 4a73df24-79d9-4f95-b0f7-4d58c6c3befc frosty-llama-25 -
2026-02-05T16:39:46.534Z message 1500 1200 b9be5597-0bca-4dc9-b17c-ab19af7f2f1d witty-otter-84 -
2026-02-06T00:59:12.174Z subscription 499 399 8cdf3f18-5b41-4e41-b9a7-d9ae1316d29b rusty-fox-33 -
2026-02-06T05:40:42.006Z tip 500 400 5c607498-3d44-4923-9e66-760b1e565703 eager-eagle-77 -
2026-02-06T10:44:10.512Z message 800 640 e191f4c0-ae4d-40af-906a-e69b7b212b8d happy-koala-56 -
2026-02-06T11:15:37.090Z tip 500 400 9b79cd5d-8678-4ad2-9294-7cf959d2f776 bold-lynx-39 -
2026-02-06T11:58:51.733Z subscription 499 399 49078ecb-98fb-434e-9320-36f2bd084413 clever-ibis-95 -
2026-02-06T13:52:18.204Z message 1200 960 dd10431d-4527-43c7-ae40-1847bf6adf13 sleepy-dingo-41 -
2026-02-06T14:06:40.981Z tip 1000 800 43c98970-259f-444b-ac7c-12454b500bd0 lazy-falcon-98 -
2026-02-06T14:31:05.377Z subscription 0 0 c8f70a53-7b39-47db-8707-744988fbf4dc shy-gazelle-58 -
2026-02-06T15:02:27.640Z renewal 499 399 8cdf3f18-5b41-4e41-b9a7-d9ae1316d29b rusty-fox-33 -
2026-02-06T15:40:13.029Z message 2000 1600 a4b756d3-a828-457e-95b9-2f500ab762c9 humble-bear-28 -
2026-02-06T17:12:55.448Z tip 2500 2000 e191f4c0-ae4d-40af-906a-e69b7b212b8d happy-koala-56 -
2026-02-06T19:21:30.861Z post 999 799 7a7545c4-aa9a-45e5-a0b7-1e814e39cf70 zesty-wolf-42 -
2026-02-06T19:55:48.007Z message 1500 1200 dd10431d-4527-43c7-ae40-1847bf6adf13 sleepy-dingo-41 -
""",
    "lexi.vale": """\
2025-11-06T08:06:45.318Z tip 1000 800 5c607498-3d44-4923-9e66-760b1e565703 eager-eagle-77 -
2025-11-17T17:43:22.178Z renewal 999 799 7da44918-d722-4883-b656-1f24c733c820 quiet-heron-84 -
2025-11-28T06:13:46.124Z tip 2000 1600 a8f0b74e-be9a-405d-840e-66df8ad49f56 brave-crane-45 -
2025-11-28T08:22:24.374Z renewal 999 799 ad7397ec-926d-4a14-80d1-a8c5c80c7db2 velvet-jaguar-35 -
2025-12-01T14:36:26.251Z subscription 999 799 5c607498-3d44-4923-9e66-760b1e565703 eager-eagle-77 -
2025-12-14T17:58:30.993Z subscription 999 799 ad7397ec-926d-4a14-80d1-a8c5c80c7db2 velvet-jaguar-35 -
2026-01-12T01:06:12.146Z tip 1000 800 ea26e8e0-7465-4c51-86a4-0e0de5b3da48 brave-crane-55 -
2026-01-21T02:18:09.744Z tip 10000 8000 6bfaf2fb-234d-427a-b48d-99091835de8e lucky-gecko-73 -
2026-01-23T21:15:58.612Z tip 1000 800 a8f0b74e-be9a-405d-840e-66df8ad49f56 brave-crane-45 -
2026-02-01T05:12:10.317Z tip 10000 8000 08d3762b-5b66-4216-ab6b-c930291a0ae6 supporting-owl-91 -
2026-02-04T15:31:08.221Z subscription 999 799 08d3762b-5b66-4216-ab6b-c930291a0ae6 supporting-owl-91 -
2026-02-04T16:55:42.580Z tip 500 400 ea26e8e0-7465-4c51-86a4-0e0de5b3da48 brave-crane-55 -
""",
}

NEVER_FETCHED: dict[str, str] = {
    "lanaa": """\
2023-03-14T10:22:05.118Z subscription 999 799 085f671b-8979-4215-a8a7-492d22d7b374 mellow-kiwi-85 -
2023-07-02T19:47:31.604Z tip 2000 1600 a8f0b74e-be9a-405d-840e-66df8ad49f56 brave-crane-45 -
2023-09-19T08:05:12.377Z message 1500 1200 1d1c857d-8152-4e20-adfa-80d1707ccd45 wild-panda-60 -
2023-11-30T22:14:50.901Z renewal 999 799 085f671b-8979-4215-a8a7-492d22d7b374 mellow-kiwi-85 -
2023-12-31T23:59:59.999Z post 500 400 8cdf3f18-5b41-4e41-b9a7-d9ae1316d29b rusty-fox-33 -
2026-02-06T14:12:09.331Z tip 1500 1200 8cdf3f18-5b41-4e41-b9a7-d9ae1316d29b rusty-fox-33 -
2026-02-06T16:48:51.702Z message 2000 1600 a8f0b74e-be9a-405d-840e-66df8ad49f56 brave-crane-45 -
2026-02-07T09:03:27.455Z renewal 999 799 7b0f2256-582d-43d7-b712-5734d5c6fef3 midnight-badger-67 -
2026-02-08T03:36:14.260Z referral 250 250 - - -
2026-02-09T21:15:40.019Z mediaLink 1200 960 1d1c857d-8152-4e20-adfa-80d1707ccd45 wild-panda-60 -
""",
    "oliviarae": """\
2026-02-06T21:44:03.870Z tip 1000 800 e8e18ce4-8755-47b9-80ac-74207d088551 calm-marten-21 -
2026-02-07T12:30:18.226Z message 1200 960 c1a72619-3612-4de8-847c-fea86e2c3c05 noble-raven-16 -
2026-02-08T08:05:55.640Z renewal 499 399 8cdf3f18-5b41-4e41-b9a7-d9ae1316d29b rusty-fox-33 -
2026-02-10T19:27:31.093Z post 500 400 3060b842-3c9c-40ac-8e27-b27f8b82a73f rapid-bison-25 -
""",
    "lexi.vale": """\
2023-10-21T18:33:12.540Z subscription 999 799 5c607498-3d44-4923-9e66-760b1e565703 eager-eagle-77 -
2023-12-02T05:51:44.086Z tip 2500 2000 ad7397ec-926d-4a14-80d1-a8c5c80c7db2 velvet-jaguar-35 -
2026-02-04T19:41:26.812Z message 2000 1600 a8f0b74e-be9a-405d-840e-66df8ad49f56 brave-crane-45 -
2026-02-05T11:02:47.303Z tip 1500 1200 ea26e8e0-7465-4c51-86a4-0e0de5b3da48 brave-crane-55 -
2026-02-06T06:18:09.958Z renewal 999 799 5c607498-3d44-4923-9e66-760b1e565703 eager-eagle-77 -
""",
    "mia.rose": """\
2025-12-03T17:20:44.512Z subscription 999 799 c0cc682d-fde1-43a1-8212-a3b19af7d62a cosmic-ferret-54 -
2026-01-11T02:48:09.735Z message 1500 1200 c0cc682d-fde1-43a1-8212-a3b19af7d62a cosmic-ferret-54 -
2026-01-27T13:05:58.004Z tip 500 400 50966ab5-9297-4fa8-b70e-5cd4aa6bb01a sunny-puffin-72 -
""",
}
