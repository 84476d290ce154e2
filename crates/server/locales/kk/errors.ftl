# Техникалық себебі бет оқырманына арналмаған API қателерінің мәтіні: `error-<code>`.
# Техникалық себеп, бар болса, жауаптың `reason` өрісінде.

## Сұрау
error-malformed_json = Сұрау денесі дұрыс JSON емес.
error-invalid_body = Сұрау денесі сызбаға сәйкес емес: өрістерді және олардың түрлерін тексеріңіз.
error-unsupported_media_type = Сұрау денесі күтілген пішімде емес (JSON немесе суреттер үшін multipart/form-data).
error-body_too_large = Сұрау денесі тым үлкен.
error-bad_body = Сұрау денесін оқу мүмкін емес.
error-bad_query = Сұрау параметрлері қате.
error-bad_idempotency_key = Idempotency-Key тақырыбы 1-ден 200-ге дейін көрінетін таңбадан тұруы керек.
error-bad_upload = Жүктелген файлды оқу мүмкін болмады: суретті қайта жіберіңіз.
error-bad_date = Күнді ЖЖЖЖ-АА-КК түрінде енгізіңіз.
error-bad_region = Өңірді оның кодымен таңдаңыз.
error-unknown_reason = Себепті таңдаңыз: мерзімі аяқталуда, аты-жөнінің өзгеруі, жоғалту, бүліну немесе басқа.
error-unknown_state = Бұл күйді мұнда көрсету мүмкін емес.
error-state_not_in_queue = Бұл күйді мұнда көрсету мүмкін емес.
error-unknown_annulment_reason = Себепті таңдаңыз: фото талаптарға сай емес, қолтаңба талаптарға сай емес немесе қосымша тексеру қажет.
error-invalid_staff = Қызметкердің есептік жазбасының деректері қате.

## Қызмет
error-internal_error = Біздің тарапта қате болды. Ештеңе өзгерген жоқ; қайталап көріңіз.
error-workers_not_running = Қызметтің фондық жұмыстары істемей тұр.
error-rules_unavailable = Бүгін ешқандай ереже күшінде емес: онлайн қызмет белсенді емес.
error-ticket_unavailable = Талон нөмірін беру мүмкін болмады. Қайталап көріңіз.
error-entropy_unavailable = Біздің тарапта қате болды. Ештеңе өзгерген жоқ; қайталап көріңіз.
error-image_checks_unavailable = Фото мен қолтаңбаны тексеру қазір қолжетімсіз. Қайталап көріңіз.
error-gateway_unavailable = Төлем қызметі қазір қолжетімсіз. Кейінірек қайталап көріңіз.

## Қолтаңбалар (сенім тізбегі)
error-malformed_signature = Қолтаңбаны оқу мүмкін емес.
error-malformed_certificate = Сертификатты оқу мүмкін емес.
error-digest_mismatch = Қол қойылған деректер өтініштің қазіргі деректерінен өзгеше.
error-bad_signature = Қолтаңба тексеруден өтпейді.
error-untrusted_certificate = Сертификатты сенімді куәландырушы орталық бермеген.
error-certificate_expired = Сертификаттың мерзімі өтіп кеткен.
error-certificate_not_yet_valid = Сертификат әлі күшіне енген жоқ.
error-certificate_revoked = Сертификат кері қайтарылған.
error-wrong_key_usage = Бұл сертификатпен құжаттарға қол қоюға болмайды.
error-unsupported_algorithm = Қолтаңба алгоритміне қолдау көрсетілмейді.
error-signing_time_in_future = Қол қою уақыты болашақта көрсетілген.
error-malformed_key = Қолтаңба кілтін пайдалану мүмкін емес.
error-key_certificate_mismatch = Қолтаңба кілті сертификатқа сәйкес келмейді.
error-wrong_pin = PIN-код қате.
error-weak_pin = PIN-код тым қысқа.
error-malformed_sealed_key = Сақталған қолтаңба кілтін оқу мүмкін емес: әкімшіден сертификатты қайта байлауды сұраңыз.
error-invalid_trust_store = Сенімді сертификаттар дұрыс бапталмаған: әкімшіге жүгініңіз.
error-invalid_revocation_list = Кері қайтару тізімін пайдалану мүмкін емес: әкімшіге жүгініңіз.
error-invalid_document = Қол қоюға арналған құжат жарамсыз.
error-approval_missing = Бұл өтінішке мақұлдау қолтаңбасы жазылмаған.
error-data_missing = Қол қойылатын құжатқа қажетті өтініш деректері жоқ.
error-document_mismatch = Қол қойылған құжат өтініштің қазіргі деректеріне сәйкес емес: оны қайта алып, қол қойыңыз.
error-no_trust_anchors = Сенімді сертификаттар бапталмаған: ештеңені мақұлдау мүмкін емес. Әкімшіге жүгініңіз.
error-signer_not_officer_of_region = Қол қоюшы өтініш өңірінің КҚБ қызметкері емес.
error-signer_not_this_officer = Қолтаңба сіздің байланған сертификатыңызбен жасалмаған.
